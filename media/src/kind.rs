//! What a file is, from its first bytes, and how it may be served.
//!
//! The content decides; the name only breaks ties among text types (an `.html` file is HTML, an `.svg`
//! that is XML is SVG) and names the kind of a zip container (`.docx`). A `.png` whose bytes are HTML is
//! HTML, a `.png` whose bytes are nothing known is a download, a `.txt` full of binary is a download.
//!
//! Served inline (the allowlist): PNG, JPEG, GIF, WebP, AVIF, PDF, UTF-8 or UTF-16 text (as
//! `text/plain`, whatever its extension: Markdown, CSV, logs, source code), MP4, WebM, Ogg, MP3, WAV,
//! FLAC. SVG is inline only with `Content-Security-Policy: sandbox`, so its script never runs on the
//! wiki's origin, even opened directly. HTML is never inline: it is an attachment, sandboxed too.
//! Everything else is an attachment, typed when the type is known (`application/zip`), else
//! `application/octet-stream`; attachments also get the sandbox, which costs nothing.
//!
//! An empty file is a download (`application/octet-stream`): nothing to show, and no reason to guess.
//!
//! HTML is found as browsers sniff it (WHATWG MIME Sniffing, "identifying a resource with an unknown
//! MIME type"): a tag such as `<!DOCTYPE html`, `<html`, `<script` or `<p` first, after whitespace and a
//! byte order mark. A file that opens with a whole-document tag (`<html`, `<head`, `<body`, `<script`,
//! `<iframe`, the doctype) is HTML whatever its name; one that opens with a fragment tag (`<p`, `<div`,
//! `<a`…) is still text when its name says plain text (`README.md` that starts with `<p align=center>`),
//! which is safe because text is always served as `text/plain` with `nosniff`. A polyglot (a GIF
//! header followed by script) is what its header says: served as `image/gif` with `nosniff`, a browser
//! never runs it.

/// How many of a file's first bytes [`MediaKind::detect`] looks at; pass at least this many when the
/// file is that long.
pub const HEAD_BYTES: usize = 4096;

const OCTET_STREAM: &str = "application/octet-stream";

/// What a file is, as far as serving it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
    /// `image/gif`.
    Gif,
    /// `image/webp`.
    WebP,
    /// `image/avif` (shown by browsers; no thumbnail, quire has no AVIF decoder).
    Avif,
    /// `image/svg+xml`: inline, sandboxed.
    Svg,
    /// `application/pdf`.
    Pdf,
    /// Readable text, served as `text/plain` in its encoding.
    Text(TextEncoding),
    /// HTML: an attachment, sandboxed, never inline.
    Html,
    /// `video/mp4`.
    Mp4,
    /// `audio/mp4` (`.m4a`).
    M4a,
    /// `video/webm`.
    WebM,
    /// `audio/ogg` (Vorbis, Opus, FLAC in Ogg).
    OggAudio,
    /// `video/ogg` (Theora).
    OggVideo,
    /// `audio/mpeg`.
    Mp3,
    /// `audio/wav`.
    Wav,
    /// `audio/flac`.
    Flac,
    /// Anything else: an attachment of this media type (one of [`DOWNLOAD_TYPES`]).
    Download(&'static str),
}

/// The encoding of a text file, from its byte order mark (UTF-8 when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    /// UTF-8, with or without a BOM.
    Utf8,
    /// UTF-16, little-endian, with a BOM.
    Utf16Le,
    /// UTF-16, big-endian, with a BOM.
    Utf16Be,
}

/// How to serve a file: what the app turns into `Content-Type`, `Content-Disposition` and
/// `Content-Security-Policy` (and `X-Content-Type-Options: nosniff`, always).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Detected {
    /// What the file is.
    pub kind: MediaKind,
    /// The `Content-Type` to send (and to store with the file).
    pub media_type: &'static str,
    /// `Content-Disposition: inline` when true, `attachment` when false.
    pub inline: bool,
    /// Send `Content-Security-Policy: sandbox`, so that nothing in the file runs on the wiki's origin.
    pub sandbox: bool,
    /// A browser shows it in `<img>` (the raster images and SVG), so an embed may be an image.
    pub is_image: bool,
    /// quire can make a thumbnail of it ([`crate::image::thumbnail`]).
    pub thumbnailable: bool,
    /// Its content is text, for the search index ([`crate::text::indexable_text`]).
    pub text: bool,
}

/// Every media type a [`MediaKind::Download`] may carry, so that [`MediaKind::from_media_type`] can
/// give back the same kind.
pub const DOWNLOAD_TYPES: &[&str] = &[
    OCTET_STREAM,
    "application/zip",
    "application/gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/x-tar",
    "application/vnd.sqlite3",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/epub+zip",
    "application/java-archive",
    "image/tiff",
    "image/heic",
    "image/heif",
    "video/quicktime",
    "video/x-matroska",
    "video/x-msvideo",
    "video/3gpp",
];

/// The kinds that are not downloads, for [`MediaKind::from_media_type`].
const SERVED_KINDS: &[MediaKind] = &[
    MediaKind::Png,
    MediaKind::Jpeg,
    MediaKind::Gif,
    MediaKind::WebP,
    MediaKind::Avif,
    MediaKind::Svg,
    MediaKind::Pdf,
    MediaKind::Text(TextEncoding::Utf8),
    MediaKind::Text(TextEncoding::Utf16Le),
    MediaKind::Text(TextEncoding::Utf16Be),
    MediaKind::Html,
    MediaKind::Mp4,
    MediaKind::M4a,
    MediaKind::WebM,
    MediaKind::OggAudio,
    MediaKind::OggVideo,
    MediaKind::Mp3,
    MediaKind::Wav,
    MediaKind::Flac,
];

impl MediaKind {
    /// How to serve a file called `name` (already cleaned) whose first bytes are `head` (the first
    /// [`HEAD_BYTES`], or the whole file when it is shorter; more is ignored).
    pub fn detect(name: &str, head: &[u8]) -> Detected {
        Self::of(name, head).detected()
    }

    /// What a file called `name` whose first bytes are `head` is; see [`MediaKind::detect`].
    pub fn of(name: &str, head: &[u8]) -> MediaKind {
        let head = &head[..head.len().min(HEAD_BYTES)];
        if head.is_empty() {
            return MediaKind::Download(OCTET_STREAM);
        }
        if let Some(kind) = by_signature(name, head) {
            return kind;
        }
        match decode_text(head) {
            Some((text, encoding)) => text_kind(name, &text, encoding),
            None => MediaKind::Download(OCTET_STREAM),
        }
    }

    /// The kind whose [`MediaKind::media_type`] is `media_type` (as stored with a file), so that a stored
    /// file is served as it was detected; an unknown type is a download of `application/octet-stream`.
    pub fn from_media_type(media_type: &str) -> MediaKind {
        SERVED_KINDS
            .iter()
            .copied()
            .find(|kind| kind.media_type() == media_type)
            .or_else(|| {
                DOWNLOAD_TYPES
                    .iter()
                    .find(|known| **known == media_type)
                    .map(|known| MediaKind::Download(known))
            })
            .unwrap_or(MediaKind::Download(OCTET_STREAM))
    }

    /// The `Content-Type` to send.
    pub fn media_type(self) -> &'static str {
        match self {
            MediaKind::Png => "image/png",
            MediaKind::Jpeg => "image/jpeg",
            MediaKind::Gif => "image/gif",
            MediaKind::WebP => "image/webp",
            MediaKind::Avif => "image/avif",
            MediaKind::Svg => "image/svg+xml",
            MediaKind::Pdf => "application/pdf",
            MediaKind::Text(TextEncoding::Utf8) => "text/plain; charset=utf-8",
            MediaKind::Text(TextEncoding::Utf16Le) => "text/plain; charset=utf-16le",
            MediaKind::Text(TextEncoding::Utf16Be) => "text/plain; charset=utf-16be",
            MediaKind::Html => "text/html",
            MediaKind::Mp4 => "video/mp4",
            MediaKind::M4a => "audio/mp4",
            MediaKind::WebM => "video/webm",
            MediaKind::OggAudio => "audio/ogg",
            MediaKind::OggVideo => "video/ogg",
            MediaKind::Mp3 => "audio/mpeg",
            MediaKind::Wav => "audio/wav",
            MediaKind::Flac => "audio/flac",
            MediaKind::Download(media_type) => media_type,
        }
    }

    /// How to serve this kind. Every kind answers every question here, with no catch-all arm, so a new
    /// kind must decide whether it is safe inline.
    pub fn detected(self) -> Detected {
        let (inline, is_image, thumbnailable, text) = match self {
            MediaKind::Png | MediaKind::Jpeg | MediaKind::Gif | MediaKind::WebP => {
                (true, true, true, false)
            }
            MediaKind::Avif | MediaKind::Svg => (true, true, false, false),
            MediaKind::Text(_) => (true, false, false, true),
            MediaKind::Html => (false, false, false, true),
            MediaKind::Pdf
            | MediaKind::Mp4
            | MediaKind::M4a
            | MediaKind::WebM
            | MediaKind::OggAudio
            | MediaKind::OggVideo
            | MediaKind::Mp3
            | MediaKind::Wav
            | MediaKind::Flac => (true, false, false, false),
            MediaKind::Download(_) => (false, false, false, false),
        };
        Detected {
            kind: self,
            media_type: self.media_type(),
            inline,
            sandbox: self == MediaKind::Svg || !inline,
            is_image,
            thumbnailable,
            text,
        }
    }
}

impl Detected {
    /// How to serve a stored file, from the media type stored with it.
    pub fn from_media_type(media_type: &str) -> Detected {
        MediaKind::from_media_type(media_type).detected()
    }
}

/// The kind of a binary format recognised by its magic number, or `None` for text and the unknown.
fn by_signature(name: &str, head: &[u8]) -> Option<MediaKind> {
    use MediaKind::*;
    let kind = match head {
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n', ..] => Png,
        [0xFF, 0xD8, 0xFF, ..] => Jpeg,
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Gif,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => WebP,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => Wav,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'A', b'V', b'I', b' ', ..] => {
            Download("video/x-msvideo")
        }
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => iso_media(head),
        [b'%', b'P', b'D', b'F', b'-', ..] => Pdf,
        [0x1A, 0x45, 0xDF, 0xA3, ..] => matroska(head),
        [b'O', b'g', b'g', b'S', 0, ..] => ogg(head),
        [b'f', b'L', b'a', b'C', block, ..] if block & 0x7F == 0 => Flac,
        [b'I', b'D', b'3', 2..=4, 0, _, a, b, c, d, ..] if (a | b | c | d) < 0x80 => Mp3,
        [0xFF, second, third, ..] if is_mpeg_audio_frame(*second, *third) => Mp3,
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => zip(name),
        [0x1F, 0x8B, 8, ..] => Download("application/gzip"),
        [b'B', b'Z', b'h', b'1'..=b'9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, ..] => {
            Download("application/x-bzip2")
        }
        [0xFD, b'7', b'z', b'X', b'Z', 0, ..] => Download("application/x-xz"),
        [b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C, ..] => Download("application/x-7z-compressed"),
        [b'R', b'a', b'r', b'!', 0x1A, 0x07, ..] => Download("application/vnd.rar"),
        [b'I', b'I', b'*', 0, ..] | [b'M', b'M', 0, b'*', ..] => Download("image/tiff"),
        _ if head.starts_with(b"SQLite format 3\0") => Download("application/vnd.sqlite3"),
        _ if head.get(257..262) == Some(b"ustar") => Download("application/x-tar"),
        _ => return None,
    };
    Some(kind)
}

/// An MPEG audio layer III frame header (after the 0xFF): sync bits, a real version, layer III, a
/// bitrate and sample rate that are not the reserved values. Strict, so that little else passes.
fn is_mpeg_audio_frame(second: u8, third: u8) -> bool {
    let sync = second & 0xE0 == 0xE0;
    let version_known = (second >> 3) & 0b11 != 0b01;
    let layer_three = (second >> 1) & 0b11 == 0b01;
    let bitrate_valid = third >> 4 != 0b1111;
    let rate_valid = (third >> 2) & 0b11 != 0b11;
    sync && version_known && layer_three && bitrate_valid && rate_valid
}

/// The ISO base media file formats, told apart by the brands of their `ftyp` box.
fn iso_media(head: &[u8]) -> MediaKind {
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let major = &head[8..head.len().min(12)];
    let compatible = head.get(16..size.min(head.len())).unwrap_or_default();
    let has = |brand: &[u8]| major == brand || compatible.chunks_exact(4).any(|b| b == brand);
    if has(b"avif") || has(b"avis") {
        return MediaKind::Avif;
    }
    if [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"]
        .iter()
        .any(|b| has(*b))
    {
        return MediaKind::Download("image/heic");
    }
    if has(b"mif1") || has(b"msf1") {
        return MediaKind::Download("image/heif");
    }
    match major {
        b"qt  " => MediaKind::Download("video/quicktime"),
        b"M4A " | b"M4B " => MediaKind::M4a,
        b"3gp4" | b"3gp5" | b"3gp6" | b"3g2a" => MediaKind::Download("video/3gpp"),
        _ if [
            b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash",
            b"M4V ",
        ]
        .iter()
        .any(|b| has(*b)) =>
        {
            MediaKind::Mp4
        }
        _ => MediaKind::Download(OCTET_STREAM),
    }
}

/// WebM or another Matroska file, by the `DocType` element of the EBML header.
fn matroska(head: &[u8]) -> MediaKind {
    let header = &head[..head.len().min(64)];
    let doc_type = header
        .windows(2)
        .position(|w| w == [0x42, 0x82])
        .and_then(|at| {
            let size = *header.get(at + 2)?;
            let len = usize::from(size & 0x7F);
            (size & 0x80 != 0).then_some(())?;
            header.get(at + 3..at + 3 + len)
        });
    match doc_type {
        Some(b"webm") => MediaKind::WebM,
        Some(b"matroska") => MediaKind::Download("video/x-matroska"),
        _ => MediaKind::Download(OCTET_STREAM),
    }
}

/// Ogg audio, or video when a Theora stream is in the first pages.
fn ogg(head: &[u8]) -> MediaKind {
    if head.windows(7).any(|w| w == b"\x80theora") {
        MediaKind::OggVideo
    } else {
        MediaKind::OggAudio
    }
}

/// The zip containers named by their extension (their content is a zip either way).
fn zip(name: &str) -> MediaKind {
    let media_type = match extension(name).as_str() {
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        "epub" => "application/epub+zip",
        "jar" => "application/java-archive",
        _ => "application/zip",
    };
    MediaKind::Download(media_type)
}

/// The lowercased extension of `name`, or an empty string.
fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// `head` as text, when it is UTF-16 with a byte order mark or valid UTF-8 (a character cut at the end of
/// the head is fine) and holds none of the bytes that mark binary data (WHATWG's "binary data bytes":
/// control characters other than tab, newlines, form feed and escape).
fn decode_text(head: &[u8]) -> Option<(String, TextEncoding)> {
    let (encoding, body) = TextEncoding::split_bom(head);
    let text = match encoding {
        // A lone surrogate becomes U+0000, which is then taken for binary.
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => encoding.decode_utf16(body, '\0'),
        TextEncoding::Utf8 => match std::str::from_utf8(body) {
            Ok(text) => text.to_owned(),
            Err(error) if error.error_len().is_none() => {
                std::str::from_utf8(&body[..error.valid_up_to()])
                    .ok()?
                    .to_owned()
            }
            Err(_) => return None,
        },
    };
    let binary =
        |c: char| matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{e}'..='\u{1a}' | '\u{1c}'..='\u{1f}');
    (!text.contains(binary)).then_some((text, encoding))
}

impl TextEncoding {
    /// The encoding `bytes` declare with a byte order mark (UTF-8 without one), and the bytes after the mark.
    pub(crate) fn split_bom(bytes: &[u8]) -> (TextEncoding, &[u8]) {
        match bytes {
            [0xFF, 0xFE, rest @ ..] => (TextEncoding::Utf16Le, rest),
            [0xFE, 0xFF, rest @ ..] => (TextEncoding::Utf16Be, rest),
            [0xEF, 0xBB, 0xBF, rest @ ..] => (TextEncoding::Utf8, rest),
            _ => (TextEncoding::Utf8, bytes),
        }
    }

    /// UTF-16 `bytes` (after the mark) as text. A surrogate pair that the end of `bytes` cuts (the end of a
    /// head, or of the indexed prefix) is dropped; any other lone surrogate becomes `lone`.
    pub(crate) fn decode_utf16(self, bytes: &[u8], lone: char) -> String {
        let unit = match self {
            TextEncoding::Utf16Be => u16::from_be_bytes,
            TextEncoding::Utf16Le | TextEncoding::Utf8 => u16::from_le_bytes,
        };
        let mut units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|pair| unit([pair[0], pair[1]]))
            .collect();
        if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            units.pop();
        }
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(lone))
            .collect()
    }
}

/// Text by content (HTML, SVG) and then by name.
fn text_kind(name: &str, text: &str, encoding: TextEncoding) -> MediaKind {
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\n', '\r', '\u{c}']);
    let extension = extension(name);
    match html_tag(start) {
        Some(HtmlTag::Document) => return MediaKind::Html,
        Some(HtmlTag::Fragment) if !PLAIN_TEXT_EXTENSIONS.contains(&extension.as_str()) => {
            return MediaKind::Html
        }
        Some(HtmlTag::Fragment) | None => {}
    }
    if is_svg(start) {
        return MediaKind::Svg;
    }
    match extension.as_str() {
        "html" | "htm" | "xhtml" | "xht" | "shtml" | "mht" | "mhtml" => MediaKind::Html,
        "svg" if start.starts_with('<') => MediaKind::Svg,
        _ => MediaKind::Text(encoding),
    }
}

/// Extensions that say "plain text" strongly enough to keep a file that opens with a fragment tag as
/// text: Markdown and text files often start with `<p align="center">` or `<div>`.
const PLAIN_TEXT_EXTENSIONS: &[&str] = &["md", "markdown", "txt", "text", "csv", "tsv", "log"];

/// How sure a leading tag makes a browser that a file is HTML.
enum HtmlTag {
    /// A tag that opens a document or runs script.
    Document,
    /// A tag a fragment or a Markdown file may open with.
    Fragment,
}

/// The HTML tag `text` opens with, as WHATWG's sniffing table lists them (plus `<!--`, which it also
/// lists): the tag name, case-insensitive, then a space or `>` (or, here, any whitespace or `/`).
fn html_tag(text: &str) -> Option<HtmlTag> {
    const DOCUMENT: &[&str] = &["!doctype html", "html", "head", "body", "script", "iframe"];
    const FRAGMENT: &[&str] = &[
        "h1", "div", "font", "table", "a", "style", "title", "b", "br", "p", "!--",
    ];
    let rest = text.strip_prefix('<')?;
    let opens = |tag: &&str| {
        let Some(after) = strip_prefix_ignore_case(rest, tag) else {
            return false;
        };
        *tag == "!--" || after.starts_with([' ', '\t', '\n', '\r', '\u{c}', '>', '/'])
    };
    if DOCUMENT.iter().any(opens) {
        Some(HtmlTag::Document)
    } else if FRAGMENT.iter().any(opens) {
        Some(HtmlTag::Fragment)
    } else {
        None
    }
}

/// Whether `text` is an SVG document: `<svg` after an optional XML declaration, processing
/// instructions, comments and a doctype (with its internal subset).
fn is_svg(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let skipped = if rest.starts_with("<?") {
            rest.find("?>").map(|end| end + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|end| end + 3)
        } else if strip_prefix_ignore_case(rest, "<!doctype").is_some() {
            doctype_end(rest)
        } else {
            break;
        };
        let Some(skipped) = skipped else {
            return false;
        };
        rest = &rest[skipped..];
    }
    strip_prefix_ignore_case(rest, "<svg")
        .is_some_and(|after| after.starts_with([' ', '\t', '\n', '\r', '>', '/']))
}

/// Where a doctype that `text` starts with ends, past an internal subset in brackets.
fn doctype_end(text: &str) -> Option<usize> {
    let close = text.find('>')?;
    match text.find('[') {
        Some(open) if open < close => {
            let subset_end = open + text[open..].find(']')?;
            Some(subset_end + text[subset_end..].find('>')? + 1)
        }
        _ => Some(close + 1),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests;
