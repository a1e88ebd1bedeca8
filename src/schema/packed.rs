//! The container both embedded schema files use (`schemas/*.kgsb` bundles and the
//! `schemas/catalog.kgsc` CRD catalog): a magic line, a little-endian `u32` N, N bytes of JSON
//! index, then raw-deflated blobs that the index points into by offset and length.
//!
//! Why one module: the two readers must agree with `tools/schema-gen` byte for byte; keeping the
//! layout in one place keeps their bounds checks and error messages the same.

use std::io::Read;

use super::SchemaError;

/// Splits a container into its JSON index and its blob area, checking the magic and lengths.
/// `what` names the format in errors ("kgate schema bundle").
pub fn split(
    bytes: &'static [u8],
    magic: &[u8],
    what: &str,
) -> Result<(&'static [u8], &'static [u8]), SchemaError> {
    let rest = bytes
        .strip_prefix(magic)
        .ok_or_else(|| SchemaError::BadMagic {
            what: what.to_string(),
        })?;
    if rest.len() < 4 {
        return Err(SchemaError::TruncatedIndexLength);
    }
    let n = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let rest = &rest[4..];
    if rest.len() < n {
        return Err(SchemaError::TruncatedIndex);
    }
    Ok(rest.split_at(n))
}

/// Whether `offset..offset + length` lies inside the blob area.
pub fn in_bounds(blobs: &[u8], offset: usize, length: usize) -> bool {
    offset
        .checked_add(length)
        .is_some_and(|end| end <= blobs.len())
}

/// Decompresses and parses one blob; `what` names it in errors ("the CRD x", "the schema of y").
/// `ratio` is the expected size growth, to allocate once.
pub fn inflate_json(
    blobs: &[u8],
    offset: usize,
    length: usize,
    ratio: usize,
    what: &str,
) -> Result<serde_json::Value, SchemaError> {
    let what = || what.to_string();
    let compressed = offset
        .checked_add(length)
        .and_then(|end| blobs.get(offset..end))
        .ok_or_else(|| SchemaError::BlobOutside { what: what() })?;
    let mut json = Vec::with_capacity(length.saturating_mul(ratio));
    flate2::read::DeflateDecoder::new(compressed)
        .read_to_end(&mut json)
        .map_err(|source| SchemaError::Decompress {
            what: what(),
            source,
        })?;
    serde_json::from_slice(&json).map_err(|source| SchemaError::BlobJson {
        what: what(),
        source,
    })
}
