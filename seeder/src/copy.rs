//! PostgreSQL binary COPY encoding, written straight into large buffers.
//!
//! The row generators call the typed field methods of [`RowWriter`]; full buffers go to a
//! [`ChunkSink`]: the channel that feeds `COPY ... FROM STDIN (FORMAT binary)`, or a hasher
//! in tests. Field types must match the column types exactly (bigint = 8 bytes, integer = 4,
//! smallint = 2, date = days since 2000-01-01, timestamptz = microseconds since 2000-01-01).

use bytes::{BufMut, Bytes, BytesMut};

/// Seconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;
/// Days between the Unix epoch and PostgreSQL's.
const PG_EPOCH_UNIX_DAYS: i32 = 10_957;
/// The oid of `text`, for array headers.
const TEXT_OID: u32 = 25;
/// Buffers are handed on once they pass this size.
const CHUNK_BYTES: usize = 256 * 1024;

/// The consumer went away (the COPY failed); the generator should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// Where finished buffers go. `rows` is how many complete rows the chunk holds.
pub trait ChunkSink {
    fn accept(&mut self, chunk: Bytes, rows: u64) -> Result<(), Stopped>;
}

/// Feeds a COPY running on the async side; blocks the generator thread when it is ahead.
impl ChunkSink for tokio::sync::mpsc::Sender<(Bytes, u64)> {
    fn accept(&mut self, chunk: Bytes, rows: u64) -> Result<(), Stopped> {
        self.blocking_send((chunk, rows)).map_err(|_| Stopped)
    }
}

/// Encodes rows of one table in binary COPY format.
#[derive(Debug)]
pub struct RowWriter<S: ChunkSink> {
    buf: BytesMut,
    sink: S,
    columns: i16,
    fields: i16,
    rows_in_buf: u64,
    rows: u64,
}

impl<S: ChunkSink> RowWriter<S> {
    /// Starts the stream with the binary COPY signature and header.
    pub fn new(sink: S, columns: usize) -> Self {
        let mut buf = BytesMut::with_capacity(CHUNK_BYTES + 16 * 1024);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0); // flags
        buf.put_i32(0); // header extension length
        Self {
            buf,
            sink,
            columns: columns as i16,
            fields: -1,
            rows_in_buf: 0,
            rows: 0,
        }
    }

    /// Rows completed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn begin(&mut self) -> &mut Self {
        debug_assert_eq!(self.fields, -1, "begin() inside an open row");
        self.buf.put_i16(self.columns);
        self.fields = 0;
        self
    }

    /// Closes the row; hands the buffer on when it is full.
    pub fn end(&mut self) -> Result<(), Stopped> {
        assert_eq!(
            self.fields, self.columns,
            "a row must write exactly one value per COPY column"
        );
        self.fields = -1;
        self.rows += 1;
        self.rows_in_buf += 1;
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the trailer and hands over the last buffer; returns the row count.
    pub fn finish(mut self) -> Result<u64, Stopped> {
        self.buf.put_i16(-1);
        self.flush()?;
        Ok(self.rows)
    }

    fn flush(&mut self) -> Result<(), Stopped> {
        let chunk = self.buf.split().freeze();
        let rows = std::mem::take(&mut self.rows_in_buf);
        self.sink.accept(chunk, rows)
    }

    fn field(&mut self, len: i32) {
        self.fields += 1;
        self.buf.put_i32(len);
    }

    pub fn null(&mut self) -> &mut Self {
        self.field(-1);
        self
    }

    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.field(2);
        self.buf.put_i16(v);
        self
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.field(4);
        self.buf.put_i32(v);
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.field(8);
        self.buf.put_i64(v);
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.field(1);
        self.buf.put_u8(u8::from(v));
        self
    }

    pub fn text(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }

    /// Text given as bytes; must be UTF-8 (the generators only pass ASCII this way).
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.field(v.len() as i32);
        self.buf.put_slice(v);
        self
    }

    pub fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A `date` given as a Unix day number.
    pub fn date(&mut self, unix_day: i32) -> &mut Self {
        self.i32(unix_day - PG_EPOCH_UNIX_DAYS)
    }

    /// A `timestamptz` given in Unix seconds.
    pub fn ts(&mut self, unix_secs: i64) -> &mut Self {
        self.i64((unix_secs - PG_EPOCH_UNIX_SECS) * 1_000_000)
    }

    pub fn opt_ts(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(t) => self.ts(t),
            None => self.null(),
        }
    }

    /// A one-dimensional `text[]` without NULL elements.
    pub fn text_array(&mut self, items: &[&str]) -> &mut Self {
        if items.is_empty() {
            self.field(12);
            self.buf.put_i32(0); // dimensions
            self.buf.put_i32(0); // has nulls
            self.buf.put_u32(TEXT_OID);
            return self;
        }
        let payload: usize = items.iter().map(|s| 4 + s.len()).sum();
        self.field((20 + payload) as i32);
        self.buf.put_i32(1);
        self.buf.put_i32(0);
        self.buf.put_u32(TEXT_OID);
        self.buf.put_i32(items.len() as i32);
        self.buf.put_i32(1); // lower bound
        for s in items {
            self.buf.put_i32(s.len() as i32);
            self.buf.put_slice(s.as_bytes());
        }
        self
    }
}

/// Collects everything in memory; for tests and `--plan`-style dry runs.
#[derive(Debug, Default)]
pub struct MemorySink {
    pub bytes: Vec<u8>,
    pub chunks: usize,
}

impl ChunkSink for MemorySink {
    fn accept(&mut self, chunk: Bytes, _rows: u64) -> Result<(), Stopped> {
        self.bytes.extend_from_slice(&chunk);
        self.chunks += 1;
        Ok(())
    }
}

/// Only counts bytes; for timing generation without a database.
#[derive(Debug, Default)]
pub struct CountingSink {
    pub bytes: u64,
}

impl ChunkSink for CountingSink {
    fn accept(&mut self, chunk: Bytes, _rows: u64) -> Result<(), Stopped> {
        self.bytes += chunk.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_encoded_as_postgres_expects() {
        let mut w = RowWriter::new(MemorySink::default(), 3);
        w.begin().i64(1).text("ab").null();
        w.end().expect("open sink");
        let sink_bytes = {
            let rows = w.rows();
            assert_eq!(rows, 1);
            let mut w = w;
            w.buf.put_i16(-1);
            w.flush().expect("flush");
            w.sink.bytes
        };
        let header = 11 + 4 + 4;
        assert_eq!(&sink_bytes[..11], b"PGCOPY\n\xff\r\n\0");
        let row = &sink_bytes[header..];
        assert_eq!(&row[..2], &3i16.to_be_bytes());
        assert_eq!(&row[2..6], &8i32.to_be_bytes());
        assert_eq!(&row[6..14], &1i64.to_be_bytes());
        assert_eq!(&row[14..18], &2i32.to_be_bytes());
        assert_eq!(&row[18..20], b"ab");
        assert_eq!(&row[20..24], &(-1i32).to_be_bytes());
        assert_eq!(&row[24..26], &(-1i16).to_be_bytes());
    }

    #[test]
    fn dates_and_times_use_the_postgres_epoch() {
        let mut w = RowWriter::new(MemorySink::default(), 2);
        w.begin()
            .date(PG_EPOCH_UNIX_DAYS + 1)
            .ts(PG_EPOCH_UNIX_SECS + 2);
        w.end().expect("open sink");
        let bytes = {
            w.flush().expect("flush");
            w.sink.bytes
        };
        let row = &bytes[19..];
        assert_eq!(&row[6..10], &1i32.to_be_bytes());
        assert_eq!(&row[14..22], &2_000_000i64.to_be_bytes());
    }

    #[test]
    #[should_panic(expected = "exactly one value per COPY column")]
    fn a_short_row_is_a_bug() {
        let mut w = RowWriter::new(MemorySink::default(), 2);
        w.begin().i64(1);
        let _ = w.end();
    }
}
