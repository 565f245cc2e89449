//! Deterministic randomness: one independent ChaCha8 stream per `(seed, purpose)`.
//!
//! Each table's skeleton and each table's text get their own stream, so the data never
//! depends on which table happens to be generated first or in parallel with which.

use fake::rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};

/// The generator every seeded stream uses.
pub type SeedRng = ChaCha8Rng;

/// The stream for `purpose` (e.g. `"skeleton:purchases"`, `"rows:users"`) under `seed`.
pub fn stream(seed: u64, purpose: &str) -> SeedRng {
    // FNV-1a of the purpose, mixed with the seed and expanded by splitmix64 into a key.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in purpose.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut x = seed ^ h.rotate_left(29);
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        x = splitmix64(x);
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Sampling from fixed weights by binary search over the cumulative sums.
#[derive(Debug, Clone)]
pub struct Weighted {
    cumulative: Vec<f64>,
}

impl Weighted {
    /// `weights` must not all be zero.
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// Zipf weights `1 / rank^s` for ranks `1..=n`, in rank order.
    pub fn zipf(n: usize, s: f64) -> Self {
        Self::new((1..=n).map(|rank| 1.0 / (rank as f64).powf(s)))
    }

    /// The weight of index `i`.
    pub fn weight(&self, i: usize) -> f64 {
        self.cumulative[i] - if i == 0 { 0.0 } else { self.cumulative[i - 1] }
    }

    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// An index in `0..len()`, with probability proportional to its weight.
    pub fn sample(&self, rng: &mut SeedRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// Picks from `(weight, value)` pairs; for the small closed distributions (statuses, ratings).
pub fn pick<T: Copy>(rng: &mut SeedRng, table: &[(u32, T)]) -> T {
    let total: u32 = table.iter().map(|(w, _)| w).sum();
    let mut x = rng.random_range(0..total.max(1));
    for &(w, v) in table {
        if x < w {
            return v;
        }
        x -= w;
    }
    table[table.len() - 1].1
}

/// Fisher–Yates with our stream (stable across `rand` releases, unlike `SliceRandom`).
pub fn shuffle<T>(rng: &mut SeedRng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A random version-4 UUID in its 36-character text form.
pub fn uuid_v4(rng: &mut SeedRng) -> [u8; 36] {
    let mut raw: [u8; 16] = rng.random();
    raw[6] = (raw[6] & 0x0f) | 0x40;
    raw[8] = (raw[8] & 0x3f) | 0x80;
    let mut out = [b'-'; 36];
    let mut pos = 0;
    for (i, byte) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            pos += 1;
        }
        out[pos] = HEX[usize::from(byte >> 4)];
        out[pos + 1] = HEX[usize::from(byte & 0x0f)];
        pos += 2;
    }
    out
}

/// 32 random lowercase hex digits (a 128-bit fingerprint).
pub fn hex128(rng: &mut SeedRng) -> [u8; 32] {
    let raw: [u8; 16] = rng.random();
    let mut out = [0u8; 32];
    for (i, byte) in raw.iter().enumerate() {
        out[2 * i] = HEX[usize::from(byte >> 4)];
        out[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: u64 = stream(7, "users").random();
        let b: u64 = stream(7, "users").random();
        let c: u64 = stream(7, "courses").random();
        let d: u64 = stream(8, "users").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn uuid_has_the_v4_shape() {
        let u = uuid_v4(&mut stream(1, "uuid"));
        let s = std::str::from_utf8(&u).expect("ascii");
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "{s}");
        assert_eq!(s.matches('-').count(), 4);
    }

    #[test]
    fn zipf_puts_most_weight_on_the_first_ranks() {
        let z = Weighted::zipf(100, 1.0);
        let mut rng = stream(3, "zipf");
        let mut top10 = 0;
        for _ in 0..10_000 {
            if z.sample(&mut rng) < 10 {
                top10 += 1;
            }
        }
        // H(10)/H(100) = 2.93/5.19 ≈ 0.56.
        assert!((5_000..6_200).contains(&top10), "{top10}");
    }
}
