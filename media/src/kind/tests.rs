use super::*;

fn detect(name: &str, head: &[u8]) -> Detected {
    MediaKind::detect(name, head)
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0";
const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8L";

fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    let size = 16 + 4 * compatible.len() as u32;
    let mut head = size.to_be_bytes().to_vec();
    head.extend_from_slice(b"ftyp");
    head.extend_from_slice(major);
    head.extend_from_slice(&[0, 0, 0, 0]);
    for brand in compatible {
        head.extend_from_slice(*brand);
    }
    head.extend_from_slice(b"\0\0\0\x08free");
    head
}

fn ebml(doc_type: &[u8]) -> Vec<u8> {
    let mut head = vec![
        0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82,
    ];
    head.push(0x80 | doc_type.len() as u8);
    head.extend_from_slice(doc_type);
    head
}

#[test]
fn raster_images_are_inline_images_and_thumbnailable() {
    for (head, kind, media_type) in [
        (PNG, MediaKind::Png, "image/png"),
        (JPEG, MediaKind::Jpeg, "image/jpeg"),
        (GIF, MediaKind::Gif, "image/gif"),
        (WEBP, MediaKind::WebP, "image/webp"),
    ] {
        let detected = detect("picture", head);
        assert_eq!(detected.kind, kind);
        assert_eq!(detected.media_type, media_type);
        assert!(detected.inline && detected.is_image && detected.thumbnailable);
        assert!(!detected.sandbox && !detected.text);
    }
}

#[test]
fn avif_is_an_inline_image_without_thumbnail() {
    for head in [
        ftyp(b"avif", &[b"mif1", b"miaf"]),
        ftyp(b"mif1", &[b"avif", b"miaf"]),
    ] {
        let detected = detect("x.avif", &head);
        assert_eq!(detected.media_type, "image/avif");
        assert!(detected.inline && detected.is_image && !detected.thumbnailable);
    }
}

#[test]
fn the_content_decides_not_the_name() {
    assert_eq!(detect("photo.txt", PNG).kind, MediaKind::Png);
    assert_eq!(detect("photo.jpg", PNG).kind, MediaKind::Png);
    let not_png = detect("x.png", b"\x00\x01\x02\x03 definitely not a png");
    assert_eq!(not_png.media_type, "application/octet-stream");
    assert!(!not_png.inline && !not_png.is_image && !not_png.thumbnailable);
    let text_png = detect("x.png", b"just some words");
    assert_eq!(text_png.media_type, "text/plain; charset=utf-8");
    assert!(!text_png.is_image);
}

#[test]
fn html_is_never_inline_and_always_sandboxed() {
    for (name, head) in [
        ("page.html", &b"<!DOCTYPE html><title>x</title>"[..]),
        ("page.htm", b"plain words, but the name says html"),
        (
            "x.xhtml",
            b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\">",
        ),
        ("x.png", b"<html><script>alert(1)</script>"),
        ("x.png", b"\xef\xbb\xbf  \n<SCRIPT>alert(1)</SCRIPT>"),
        ("x.txt", b"<body onload=alert(1)>"),
        ("x.md", b"<iframe src=//evil>"),
        ("x", b"<!-- a comment --><p>hi</p>"),
        ("x.jpg", b"<p>a fragment</p>"),
        ("x.bin", b"\t<a href=x>link</a>"),
    ] {
        let detected = detect(name, head);
        assert_eq!(detected.kind, MediaKind::Html, "{name} {head:?}");
        assert_eq!(detected.media_type, "text/html");
        assert!(!detected.inline && detected.sandbox, "{name}");
    }
}

#[test]
fn plain_text_names_keep_a_leading_fragment_tag_as_text() {
    for name in ["README.md", "notes.txt", "data.csv"] {
        let detected = detect(
            name,
            b"<p align=\"center\"><img src=\"logo.png\"></p>\n# Title\n",
        );
        assert_eq!(detected.kind, MediaKind::Text(TextEncoding::Utf8), "{name}");
    }
    assert_eq!(detect("README.md", b"<html><body>").kind, MediaKind::Html);
}

#[test]
fn tags_must_end_to_count() {
    assert_eq!(
        detect("x", b"<pre>code</pre>").kind,
        MediaKind::Text(TextEncoding::Utf8)
    );
    assert_eq!(
        detect("x", b"<htmlish>").kind,
        MediaKind::Text(TextEncoding::Utf8)
    );
    assert_eq!(
        detect("x", b"<bx").kind,
        MediaKind::Text(TextEncoding::Utf8)
    );
}

#[test]
fn svg_is_inline_only_sandboxed() {
    for head in [
        &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- made by hand -->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x\">\n<svg>",
        b"<!DOCTYPE svg [ <!ENTITY a \"<b>\"> ]><svg>",
        b"\xef\xbb\xbf<SVG\n>",
    ] {
        let detected = detect("drawing.txt", head);
        assert_eq!(detected.kind, MediaKind::Svg, "{head:?}");
        assert_eq!(detected.media_type, "image/svg+xml");
        assert!(detected.inline && detected.sandbox && detected.is_image && !detected.thumbnailable);
    }
    let by_name = detect(
        "x.svg",
        b"<?xml version=\"1.0\"?><!-- a comment longer than the head",
    );
    assert_eq!(by_name.kind, MediaKind::Svg);
    assert_eq!(
        detect("x.svg", b"not xml").kind,
        MediaKind::Text(TextEncoding::Utf8)
    );
    assert_eq!(
        detect("x.xml", b"<?xml version=\"1.0\"?><feed>").kind,
        MediaKind::Text(TextEncoding::Utf8)
    );
}

#[test]
fn a_polyglot_is_what_its_header_says() {
    let mut polyglot = b"GIF89a/*\x01\0\x01\0".to_vec();
    polyglot.extend_from_slice(b"*/=1;<script>alert(document.domain)</script>");
    let detected = detect("x.html", &polyglot);
    assert_eq!(detected.kind, MediaKind::Gif);
    assert_eq!(detected.media_type, "image/gif");
}

#[test]
fn text_is_inline_plain_text_whatever_its_extension() {
    for name in [
        "notes.txt",
        "README.md",
        "data.csv",
        "server.log",
        "main.rs",
        "script.js",
        "style.css",
        "noext",
    ] {
        let detected = detect(
            name,
            "# Plans\n\nCafé, 東京, 📎.\r\n\tEnd.\x0c\x1b[0m".as_bytes(),
        );
        assert_eq!(detected.media_type, "text/plain; charset=utf-8", "{name}");
        assert!(detected.inline && detected.text && !detected.sandbox && !detected.is_image);
    }
}

#[test]
fn a_character_cut_at_the_end_of_the_head_is_still_text() {
    let mut head = "é".repeat(HEAD_BYTES / 2 - 1).into_bytes();
    head.extend_from_slice("€".as_bytes());
    head.extend_from_slice(b"more");
    assert_eq!(detect("x", &head).kind, MediaKind::Text(TextEncoding::Utf8));
    let mut cut = "a".repeat(HEAD_BYTES - 1).into_bytes();
    cut.push(0xE2);
    assert_eq!(detect("x", &cut).kind, MediaKind::Text(TextEncoding::Utf8));
}

#[test]
fn binary_with_a_text_name_is_a_download() {
    for head in [
        &b"abc\0def"[..],
        b"\xfa\xfb\xfc not utf-8",
        b"text then \x01 a control",
        b"\xc3\x28",
    ] {
        let detected = detect("notes.txt", head);
        assert_eq!(
            detected.kind,
            MediaKind::Download("application/octet-stream"),
            "{head:?}"
        );
        assert!(!detected.inline && !detected.text && detected.sandbox);
    }
}

#[test]
fn utf16_text_with_a_bom_is_text_in_its_encoding() {
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("Grüße 📎\r\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain("Grüße 📎\r\n".encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let detected = detect("x.txt", &le);
    assert_eq!(detected.media_type, "text/plain; charset=utf-16le");
    assert!(detected.inline && detected.text);
    assert_eq!(
        detect("x.txt", &be).media_type,
        "text/plain; charset=utf-16be"
    );

    let html: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("<html><script>".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(detect("x.txt", &html).kind, MediaKind::Html);
    let lone_surrogate = [0xFF, 0xFE, 0x00, 0xD8, b'a', 0];
    assert_eq!(
        detect("x.txt", &lone_surrogate).kind,
        MediaKind::Download(OCTET_STREAM)
    );
}

#[test]
fn an_empty_file_is_a_download() {
    let detected = detect("empty.txt", b"");
    assert_eq!(detected.media_type, "application/octet-stream");
    assert!(!detected.inline && !detected.text);
}

#[test]
fn pdf_is_inline() {
    let detected = detect("report", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    assert_eq!(detected.media_type, "application/pdf");
    assert!(detected.inline && !detected.sandbox && !detected.is_image);
}

#[test]
fn audio_and_video_are_inline() {
    let mut mp3_frame = vec![0xFF, 0xFB, 0x90, 0x64];
    mp3_frame.resize(64, 0);
    let mut ogg_theora = b"OggS\0\x02".to_vec();
    ogg_theora.extend_from_slice(&[0; 22]);
    ogg_theora.extend_from_slice(b"\x80theora");
    for (head, media_type) in [
        (
            ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"]),
            "video/mp4",
        ),
        (ftyp(b"mp42", &[b"mp42"]), "video/mp4"),
        (ftyp(b"M4A ", &[b"M4A ", b"mp42", b"isom"]), "audio/mp4"),
        (ebml(b"webm"), "video/webm"),
        (
            b"OggS\0\x02\0\0\0\0\0\0\0\0\x01vorbis".to_vec(),
            "audio/ogg",
        ),
        (ogg_theora, "video/ogg"),
        (b"ID3\x04\0\0\0\0\x01\x00TIT2".to_vec(), "audio/mpeg"),
        (mp3_frame, "audio/mpeg"),
        (b"RIFF\x24\0\0\0WAVEfmt ".to_vec(), "audio/wav"),
        (b"fLaC\0\0\0\x22".to_vec(), "audio/flac"),
    ] {
        let detected = detect("media", &head);
        assert_eq!(detected.media_type, media_type);
        assert!(detected.inline && !detected.sandbox && !detected.is_image && !detected.text);
    }
}

#[test]
fn other_formats_are_typed_downloads() {
    let mut tar = vec![b'a'; 100];
    tar.resize(257, 0);
    tar.extend_from_slice(b"ustar\x0000");
    for (name, head, media_type) in [
        ("x.zip", &b"PK\x03\x04\x14\0"[..], "application/zip"),
        (
            "Report.DOCX",
            b"PK\x03\x04\x14\0",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("x.gz", b"\x1f\x8b\x08\0", "application/gzip"),
        ("x.7z", b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
        ("x.mov", &ftyp(b"qt  ", &[b"qt  "]), "video/quicktime"),
        ("x.heic", &ftyp(b"heic", &[b"mif1", b"heic"]), "image/heic"),
        ("x.mkv", &ebml(b"matroska"), "video/x-matroska"),
        ("x.tif", b"II*\0\x08\0\0\0", "image/tiff"),
        ("x.db", b"SQLite format 3\0", "application/vnd.sqlite3"),
        ("x.tar", &tar, "application/x-tar"),
        ("x.exe", b"MZ\x90\0\x03\0\0\0", "application/octet-stream"),
        (
            "x.png",
            b"\x7fELF\x02\x01\x01\0",
            "application/octet-stream",
        ),
    ] {
        let detected = detect(name, head);
        assert_eq!(detected.media_type, media_type, "{name}");
        assert!(
            !detected.inline && detected.sandbox && !detected.is_image && !detected.thumbnailable
        );
    }
}

#[test]
fn text_that_starts_like_a_signature_is_still_text() {
    for head in [
        &b"ID3 tags are metadata"[..],
        b"fLaC is not flac",
        b"BZh9 notes",
        b"OggS notes",
        b"II* x",
    ] {
        assert_eq!(
            detect("x.txt", head).kind,
            MediaKind::Text(TextEncoding::Utf8),
            "{head:?}"
        );
    }
}

#[test]
fn only_the_head_is_looked_at() {
    let mut long = vec![b'a'; HEAD_BYTES];
    long.push(0);
    assert_eq!(
        detect("x.txt", &long).kind,
        MediaKind::Text(TextEncoding::Utf8)
    );
}

#[test]
fn stored_media_types_give_back_the_same_kind() {
    for &kind in SERVED_KINDS {
        assert_eq!(MediaKind::from_media_type(kind.media_type()), kind);
    }
    for &media_type in DOWNLOAD_TYPES {
        let detected = Detected::from_media_type(media_type);
        assert_eq!(detected.media_type, media_type);
        assert!(!detected.inline);
    }
    assert_eq!(
        Detected::from_media_type("text/html; charset=evil").kind,
        MediaKind::Download(OCTET_STREAM)
    );
    assert_eq!(Detected::from_media_type("").media_type, OCTET_STREAM);
}

#[test]
fn every_inline_kind_is_allowlisted() {
    // Inline without sandbox means the browser renders it on the wiki's origin: only these may be.
    let safe = [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "application/pdf",
        "text/plain; charset=utf-8",
        "text/plain; charset=utf-16le",
        "text/plain; charset=utf-16be",
        "video/mp4",
        "audio/mp4",
        "video/webm",
        "audio/ogg",
        "video/ogg",
        "audio/mpeg",
        "audio/wav",
        "audio/flac",
    ];
    for kind in SERVED_KINDS
        .iter()
        .copied()
        .chain(DOWNLOAD_TYPES.iter().map(|t| MediaKind::Download(t)))
    {
        let detected = kind.detected();
        if detected.inline && !detected.sandbox {
            assert!(safe.contains(&detected.media_type), "{kind:?}");
        }
    }
}

#[test]
fn detection_never_panics_on_short_or_odd_heads() {
    let mut heads: Vec<Vec<u8>> = Vec::new();
    for prefix in [
        &b"\x89PNG\r\n\x1a\n"[..],
        b"RIFF",
        b"\0\0\0\x20ftyp",
        b"\x1a\x45\xdf\xa3\x42\x82\xff",
        b"OggS\0",
        b"<!doctype svg [",
        b"<?xml",
        b"\xff\xfe\x00",
        b"\xff",
    ] {
        for len in 0..=prefix.len() {
            heads.push(prefix[..len].to_vec());
        }
    }
    heads.push(b"\xff\xff\xff\xffftypavif".to_vec());
    for head in heads {
        let _ = detect("x", &head);
    }
}
