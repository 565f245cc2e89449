//! `--dump-dir`: the rows a load would COPY, written to files instead of a database.
//!
//! `scripts/bench-seeder` loads these files with `psql \copy` into a freshly migrated
//! database, with the same index, constraint and foreign-key steps as the seeder, to measure
//! what the schema itself costs to load; the seeder is judged against that. So the files
//! hold exactly the bytes [`crate::load`] streams: one binary COPY file per table
//! (`<table>.copy`, `COPY ... FROM ... (FORMAT binary)` reads it), plus `manifest.tsv`
//! telling the loader each table's rows, whether it has an identity `id` and its column
//! list in COPY order.
//!
//! The world is built with the lookup ids of a freshly migrated database
//! ([`Lookups::as_migrated`]), as `--plan` and `--dry-run` do; the seeder reads them from
//! the database instead, which gives the same ids there.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
};

use bytes::Bytes;

use crate::{
    copy::{ChunkSink, Stopped},
    generate::{self, Lookups, Table, World},
    plan::Params,
};

/// The manifest's file name inside the dump directory.
pub const MANIFEST: &str = "manifest.tsv";

/// One table's file, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dumped {
    pub table: Table,
    pub rows: u64,
    pub bytes: u64,
    pub path: PathBuf,
}

/// Writes chunks to a file; keeps the first I/O error, since [`ChunkSink`] can only say stop.
struct FileSink {
    out: BufWriter<File>,
    bytes: u64,
    error: Option<io::Error>,
}

impl ChunkSink for &mut FileSink {
    fn accept(&mut self, chunk: Bytes, _rows: u64) -> Result<(), Stopped> {
        match self.out.write_all(&chunk) {
            Ok(()) => {
                self.bytes += chunk.len() as u64;
                Ok(())
            }
            Err(err) => {
                self.error = Some(err);
                Err(Stopped)
            }
        }
    }
}

/// The path of `table`'s file in `dir`.
pub fn table_path(dir: &Path, table: Table) -> PathBuf {
    dir.join(format!("{}.copy", table.name()))
}

/// Generates every table of `params` into `dir` (created if missing; files in it are
/// replaced) and writes the manifest last, so a manifest means a complete dump.
pub fn dump(params: Params, dir: &Path) -> io::Result<Vec<Dumped>> {
    std::fs::create_dir_all(dir)?;
    let manifest_path = dir.join(MANIFEST);
    // A manifest left by an earlier dump must not vouch for files being rewritten.
    if let Err(err) = std::fs::remove_file(&manifest_path)
        && err.kind() != io::ErrorKind::NotFound
    {
        return Err(err);
    }
    let world = World::build(params, Lookups::as_migrated());
    let mut dumped = Vec::with_capacity(Table::ALL.len());
    for table in Table::ALL {
        let path = table_path(dir, table);
        let mut sink = FileSink {
            out: BufWriter::with_capacity(1 << 20, File::create(&path)?),
            bytes: 0,
            error: None,
        };
        let written = generate::write_table(&world, table, &mut sink);
        if let Some(err) = sink.error.take() {
            return Err(io::Error::new(
                err.kind(),
                format!("{}: {err}", path.display()),
            ));
        }
        let rows = written.map_err(|Stopped| io::Error::other("the generator stopped"))?;
        sink.out
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        dumped.push(Dumped {
            table,
            rows,
            bytes: sink.bytes,
            path,
        });
    }
    let mut manifest = String::from("# table\trows\tidentity\tcolumns (COPY order)\n");
    for d in &dumped {
        manifest.push_str(&manifest_line(d.table, d.rows));
    }
    std::fs::write(&manifest_path, manifest)?;
    Ok(dumped)
}

fn manifest_line(table: Table, rows: u64) -> String {
    format!(
        "{}\t{}\t{}\t{}\n",
        table.name(),
        rows,
        u8::from(table.has_identity()),
        table.columns().join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    // `&mut MemorySink` is a sink through the test impl in `generate::tests`.
    use crate::copy::MemorySink;

    fn tiny() -> Params {
        Params {
            seed: 7,
            scale: 0.01,
            anchor: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
        }
    }

    #[test]
    fn the_files_hold_the_bytes_a_load_would_send_and_the_manifest_lists_every_table() {
        let dir = std::env::temp_dir().join(format!("lyceum-dump-test-{}", std::process::id()));
        let dumped = dump(tiny(), &dir).expect("dump");
        assert_eq!(dumped.len(), Table::ALL.len());
        let world = World::build(tiny(), Lookups::as_migrated());
        for d in &dumped {
            let mut expected = MemorySink::default();
            generate::write_table(&world, d.table, &mut expected).expect("generate");
            let file = std::fs::read(&d.path).expect("read");
            assert!(file == expected.bytes, "{} differs", d.table);
            assert_eq!(d.rows, world.rows(d.table));
        }
        let manifest = std::fs::read_to_string(dir.join(MANIFEST)).expect("manifest");
        let lines: Vec<&str> = manifest.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), Table::ALL.len());
        assert!(
            lines[0].starts_with("specializations\t12\t1\tid,"),
            "{}",
            lines[0]
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
