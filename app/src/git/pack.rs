//! A git pack file and its index (version 2), written in one pass: the way `quire export git` stores
//! its objects.
//!
//! Why by hand: a commit on a wiki of 10 000 top-level pages gives a new root tree of some 400 KB.
//! `git fast-import` sorts it, hashes it and searches it for a delta against the tree before, about
//! 6 ms a commit, so 100 000 revisions took ten minutes. Here a tree's delta is known without a
//! search (the bytes before and after the one entry that changed are the same), so what is left is
//! hashing, which every git writer pays. Only the two formats are written here, as
//! `gitformat-pack(5)` gives them; git itself checks the result (`git fsck` in the tests), and reads
//! it afterwards.
//!
//! - Objects are written whole and zlib-compressed, or as an `OFS_DELTA` on an object earlier in
//!   the same pack ([`PackWriter::write`]), so the pack needs no other pack.
//! - An object already in the pack is not written twice (git's own writers do the same).
//! - The header's object count is only known at the end, so [`PackWriter::finish`] writes it then,
//!   and reads the file once more for the trailing checksum.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::write::ZlibEncoder;
use flate2::Compression;
use sha1::{Digest, Sha1};

/// An object id: the SHA-1 of an object's header and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// The id of an object of `kind` with `bytes`, as git computes it.
    pub fn of(kind: Kind, bytes: &[u8]) -> Oid {
        let mut hasher = Sha1::new();
        hasher.update(format!("{} {}\0", kind.word(), bytes.len()).as_bytes());
        hasher.update(bytes);
        Oid(hasher.finalize().into())
    }

    /// Forty lower-case hex digits.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// The kinds of object the export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A commit.
    Commit,
    /// A directory.
    Tree,
    /// A file's bytes.
    Blob,
}

impl Kind {
    /// The word in the object's header.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
        }
    }

    /// The type number in a pack entry's header.
    fn number(self) -> u8 {
        match self {
            Kind::Commit => 1,
            Kind::Tree => 2,
            Kind::Blob => 3,
        }
    }
}

/// The type number of an entry stored as a delta on an earlier entry of the same pack.
const OFS_DELTA: u8 = 6;

/// The longest chain of deltas an object may sit at the end of, as git's own default
/// (`pack.depth`): a reader rebuilds an object by applying its whole chain.
pub const MAX_DEPTH: u32 = 50;

/// Where an object went in the pack.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    /// The entry's offset in the pack, which a later delta names.
    pub offset: u64,
    /// How many deltas deep it is stored: 0 when whole.
    pub depth: u32,
}

/// One entry, as the index lists it.
struct IndexEntry {
    oid: Oid,
    offset: u64,
    crc: u32,
}

/// A pack being written into `objects/pack/` of a repository.
pub struct PackWriter {
    dir: PathBuf,
    temp: PathBuf,
    out: BufWriter<File>,
    /// Bytes written so far: the offset of the next entry.
    offset: u64,
    entries: Vec<IndexEntry>,
    /// Every object in the pack, and where.
    placed: HashMap<Oid, Placed>,
}

impl PackWriter {
    /// Starts a pack in `objects_dir/pack/` (the folder is made if missing).
    pub fn create(objects_dir: &Path) -> io::Result<PackWriter> {
        let dir = objects_dir.join("pack");
        fs::create_dir_all(&dir)?;
        let temp = dir.join("tmp_pack_quire");
        // Read as well as written: `finish` reads it back for the checksum.
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        // The count is written by `finish`, once known.
        out.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
        Ok(PackWriter {
            dir,
            temp,
            out,
            offset: 12,
            entries: Vec::new(),
            placed: HashMap::new(),
        })
    }

    /// Where `oid` is in this pack, if it is.
    pub fn placed(&self, oid: &Oid) -> Option<Placed> {
        self.placed.get(oid).copied()
    }

    /// Writes the object `bytes` of `kind` with id `oid` (see [`Oid::of`]), as a delta on `base`
    /// when one is given and its delta is smaller. Returns where it went; an object already in the
    /// pack is not written again, and a base already [`MAX_DEPTH`] deep is not used.
    pub fn write(
        &mut self,
        kind: Kind,
        oid: Oid,
        bytes: &[u8],
        base: Option<(Placed, &[u8])>,
    ) -> io::Result<Placed> {
        if let Some(placed) = self.placed(&oid) {
            return Ok(placed);
        }
        let delta = base
            .filter(|(placed, _)| placed.depth < MAX_DEPTH)
            .and_then(|(placed, base)| {
                let delta = delta(base, bytes);
                (delta.len() < bytes.len() / 2).then_some((placed, delta))
            });
        let offset = self.offset;
        let mut entry = Vec::with_capacity(32);
        let (data, level) = match &delta {
            Some((base, delta)) => {
                entry_header(&mut entry, OFS_DELTA, delta.len() as u64);
                base_distance(&mut entry, offset - base.offset);
                (&delta[..], Compression::default())
            }
            // Trees are mostly ids, which do not compress: do not try hard.
            None if kind == Kind::Tree => {
                entry_header(&mut entry, kind.number(), bytes.len() as u64);
                (bytes, Compression::fast())
            }
            None => {
                entry_header(&mut entry, kind.number(), bytes.len() as u64);
                (bytes, Compression::default())
            }
        };
        let mut encoder = ZlibEncoder::new(entry, level);
        encoder.write_all(data)?;
        let entry = encoder.finish()?;
        self.out.write_all(&entry)?;
        self.offset += entry.len() as u64;
        self.entries.push(IndexEntry {
            oid,
            offset,
            crc: crc32fast::hash(&entry),
        });
        let depth = delta.map_or(0, |(base, _)| base.depth + 1);
        let placed = Placed { offset, depth };
        self.placed.insert(oid, placed);
        Ok(placed)
    }

    /// Ends the pack: its object count, its checksum, its index, and both files under their final
    /// names (`pack-<checksum>.pack` and `.idx`). Returns the pack's path, or `None` when nothing was
    /// written (the temporary file is removed then).
    pub fn finish(self) -> io::Result<Option<PathBuf>> {
        let PackWriter {
            dir,
            temp,
            out,
            mut entries,
            ..
        } = self;
        let mut file = out.into_inner().map_err(|err| err.into_error())?;
        if entries.is_empty() {
            drop(file);
            fs::remove_file(&temp)?;
            return Ok(None);
        }
        let count = u32::try_from(entries.len())
            .map_err(|_| io::Error::other("more objects than a pack can count"))?;
        file.seek(SeekFrom::Start(8))?;
        file.write_all(&count.to_be_bytes())?;
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha1::new();
        let mut buffer = vec![0; 1 << 20];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        let checksum: [u8; 20] = hasher.finalize().into();
        file.seek(SeekFrom::End(0))?;
        file.write_all(&checksum)?;
        file.sync_all()?;
        drop(file);
        let name = format!("pack-{}", Oid(checksum).to_hex());
        let pack = dir.join(format!("{name}.pack"));
        fs::rename(&temp, &pack)?;
        entries.sort_unstable_by_key(|entry| entry.oid);
        let index = write_index(&entries, &checksum);
        let temp_index = dir.join("tmp_idx_quire");
        fs::write(&temp_index, index)?;
        fs::rename(&temp_index, dir.join(format!("{name}.idx")))?;
        Ok(Some(pack))
    }
}

/// An entry's header: its type and its (uncompressed) size, four bits first, then seven at a time.
fn entry_header(out: &mut Vec<u8>, kind: u8, mut size: u64) {
    let mut byte = (kind << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

/// How far back a delta's base is, in the pack's own variable-length form (most significant group
/// first, each continuation adding one).
fn base_distance(out: &mut Vec<u8>, mut distance: u64) {
    let mut groups = vec![(distance & 0x7f) as u8];
    distance >>= 7;
    while distance != 0 {
        distance -= 1;
        groups.push(0x80 | (distance & 0x7f) as u8);
        distance >>= 7;
    }
    out.extend(groups.iter().rev());
}

/// A size in a delta's header: seven bits at a time, least significant first.
fn delta_size(out: &mut Vec<u8>, mut size: u64) {
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The most one copy instruction can copy.
const MAX_COPY: usize = 0xff_ffff;

/// The most one insert instruction can insert.
const MAX_INSERT: usize = 0x7f;

/// The delta that makes `target` from `base`: the bytes both begin with and end with are copied
/// from `base`, the rest inserted. That is the whole of the change when one tree entry or one page
/// changed, which is what the export writes; no search is made for anything else.
pub fn delta(base: &[u8], target: &[u8]) -> Vec<u8> {
    let prefix = base.iter().zip(target).take_while(|(a, b)| a == b).count();
    let most_suffix = base.len().min(target.len()) - prefix;
    let suffix = base
        .iter()
        .rev()
        .zip(target.iter().rev())
        .take(most_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = Vec::with_capacity(target.len() - prefix - suffix + 32);
    delta_size(&mut out, base.len() as u64);
    delta_size(&mut out, target.len() as u64);
    copy(&mut out, 0, prefix);
    for chunk in target[prefix..target.len() - suffix].chunks(MAX_INSERT) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    copy(&mut out, base.len() - suffix, suffix);
    out
}

/// Copy instructions for `len` bytes of the base from `offset`.
fn copy(out: &mut Vec<u8>, mut offset: usize, mut len: usize) {
    while len > 0 {
        let size = len.min(MAX_COPY);
        let mut command = 0x80u8;
        let mut operands = Vec::with_capacity(7);
        for (bit, byte) in (offset as u32).to_le_bytes().into_iter().enumerate() {
            if byte != 0 {
                command |= 1 << bit;
                operands.push(byte);
            }
        }
        for (bit, byte) in (size as u32).to_le_bytes().into_iter().take(3).enumerate() {
            if byte != 0 {
                command |= 1 << (4 + bit);
                operands.push(byte);
            }
        }
        out.push(command);
        out.extend_from_slice(&operands);
        offset += size;
        len -= size;
    }
}

/// The index (version 2) of `entries`, sorted by id, for the pack with `checksum`.
fn write_index(entries: &[IndexEntry], checksum: &[u8; 20]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 256 * 4 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc\0\0\0\x02");
    let mut fanout = [0u32; 256];
    for entry in entries {
        fanout[entry.oid.0[0] as usize] += 1;
    }
    let mut running = 0;
    for count in fanout {
        running += count;
        out.extend_from_slice(&running.to_be_bytes());
    }
    for entry in entries {
        out.extend_from_slice(&entry.oid.0);
    }
    for entry in entries {
        out.extend_from_slice(&entry.crc.to_be_bytes());
    }
    // Offsets past 2 GiB go into a table of 8-byte offsets, named by index with the top bit set.
    let mut large = Vec::new();
    for entry in entries {
        let small = match u32::try_from(entry.offset) {
            Ok(offset) if offset < 0x8000_0000 => offset,
            _ => {
                large.push(entry.offset);
                0x8000_0000 | (large.len() as u32 - 1)
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(checksum);
    let own: [u8; 20] = Sha1::digest(&out).into();
    out.extend_from_slice(&own);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies a delta as git does, to check the writer against the format.
    fn apply(base: &[u8], delta: &[u8]) -> Vec<u8> {
        fn size(delta: &[u8], at: &mut usize) -> usize {
            let (mut size, mut shift) = (0, 0);
            loop {
                let byte = delta[*at];
                *at += 1;
                size |= ((byte & 0x7f) as usize) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    return size;
                }
            }
        }
        let mut at = 0;
        assert_eq!(size(delta, &mut at), base.len());
        let target_len = size(delta, &mut at);
        let mut out = Vec::new();
        while at < delta.len() {
            let command = delta[at];
            at += 1;
            if command & 0x80 != 0 {
                let (mut offset, mut len) = (0usize, 0usize);
                for bit in 0..4 {
                    if command & (1 << bit) != 0 {
                        offset |= (delta[at] as usize) << (8 * bit);
                        at += 1;
                    }
                }
                for bit in 0..3 {
                    if command & (1 << (4 + bit)) != 0 {
                        len |= (delta[at] as usize) << (8 * bit);
                        at += 1;
                    }
                }
                if len == 0 {
                    len = 0x10000;
                }
                out.extend_from_slice(&base[offset..offset + len]);
            } else {
                let len = command as usize;
                assert!(len > 0, "instruction 0 is reserved");
                out.extend_from_slice(&delta[at..at + len]);
                at += len;
            }
        }
        assert_eq!(out.len(), target_len);
        out
    }

    #[test]
    fn deltas_rebuild_their_target() {
        let base: Vec<u8> = (0..300_000u32).map(|n| (n * 7 % 251) as u8).collect();
        let mut inserted = base.clone();
        inserted.splice(1000..1000, b"a new entry of some length".iter().copied());
        let mut removed = base.clone();
        removed.drain(200_000..200_300);
        let cases: [(&[u8], &[u8]); 6] = [
            (&base, &inserted),
            (&base, &removed),
            (&inserted, &base),
            (b"", b"all new"),
            (b"all old", b""),
            (b"aaaa", b"aaaaaa"),
        ];
        for (from, to) in cases {
            let made = delta(from, to);
            assert_eq!(apply(from, &made), to);
        }
        assert!(delta(&base, &inserted).len() < 100);
    }

    #[test]
    fn entry_headers_and_distances_use_the_packs_encoding() {
        let mut out = Vec::new();
        entry_header(&mut out, 3, 15);
        assert_eq!(out, [0x3f]);
        out.clear();
        entry_header(&mut out, 2, 16);
        assert_eq!(out, [0xa0, 0x01]);
        out.clear();
        base_distance(&mut out, 127);
        assert_eq!(out, [0x7f]);
        out.clear();
        // 128 is one continuation group of 0 (which counts as 1) and 0.
        base_distance(&mut out, 128);
        assert_eq!(out, [0x80, 0x00]);
    }

    #[test]
    fn ids_are_gits() {
        // `git hash-object --stdin <<< ''` and `printf 'hello\n' | git hash-object --stdin`.
        assert_eq!(
            Oid::of(Kind::Blob, b"").to_hex(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        assert_eq!(
            Oid::of(Kind::Blob, b"hello\n").to_hex(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
