//! Bytes to text: gzip decoded on the fly, binary formats recognised by their magic
//! bytes, then the encoding: a BOM, UTF-16 by its zero bytes, UTF-8 by validity, and
//! `chardetng` for legacy encodings (Windows-125x, Latin-1, Shift_JIS, GBK, …).

use std::io::Read;

use encoding_rs::{DecoderResult, Encoding, GB18030, GBK, UTF_16BE, UTF_16LE, UTF_8};

use crate::SniffError;

/// Magic bytes of formats that are not delimited text, with the name users know.
const MAGIC: &[(&[u8], &str)] = &[
    (b"PAR1", "Parquet"),
    (b"\x89PNG", "PNG image"),
    (b"\xFF\xD8\xFF", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP archive (or XLSX/DOCX)"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"7z\xBC\xAF\x27\x1C", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"ORC", "ORC"),
    (b"Obj\x01", "Avro"),
    (b"SQLite format 3\0", "SQLite database"),
    (b"\xD0\xCF\x11\xE0", "legacy Office (XLS/DOC)"),
    (
        b"BZh",
        "bzip2-compressed (only gzip is decoded; decompress it first)",
    ),
    (
        b"\x28\xB5\x2F\xFD",
        "zstd-compressed (only gzip is decoded; decompress it first)",
    ),
    (
        b"\xFD7zXZ\0",
        "xz-compressed (only gzip is decoded; decompress it first)",
    ),
    (b"\x7FELF", "executable (ELF)"),
    (b"ARROW1", "Arrow IPC"),
];

pub fn binary_format(b: &[u8]) -> Option<&'static str> {
    MAGIC
        .iter()
        .find(|(m, _)| b.starts_with(m))
        .map(|(_, n)| *n)
}

pub fn is_gzip(b: &[u8]) -> bool {
    b.starts_with(&[0x1F, 0x8B])
}

/// Inflates a gzip sample up to `limit` output bytes. Returns the text bytes and whether
/// they stop before the end of the file (the sample or the limit was reached).
pub fn gunzip(sample: &[u8], truncated: bool, limit: usize) -> Result<(Vec<u8>, bool), SniffError> {
    let mut out = Vec::with_capacity(limit.min(sample.len() * 4));
    let mut d = flate2::read::MultiGzDecoder::new(sample).take(limit as u64);
    match d.read_to_end(&mut out) {
        Ok(_) => Ok((out.clone(), truncated || out.len() >= limit)),
        // A prefix of a gzip stream ends mid-block: what was inflated is the sample.
        Err(_) if truncated && !out.is_empty() => Ok((out, true)),
        Err(e) => Err(SniffError::Corrupt(format!("gzip: {e}"))),
    }
}

/// Decoded text and how it was found.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    pub bom: bool,
    pub confidence: f64,
}

/// Decodes with the user's encoding: undecodable bytes are an error, not a guess.
pub fn decode_as(b: &[u8], truncated: bool, label: &str) -> Result<Decoded, SniffError> {
    let enc = Encoding::for_label(label.trim().as_bytes())
        .ok_or_else(|| SniffError::UnknownEncoding(label.to_string()))?;
    let (bom_enc, bom_len) = Encoding::for_bom(b).unwrap_or((enc, 0));
    let bom = bom_len > 0 && bom_enc == enc;
    let body = if bom { &b[bom_len..] } else { b };
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(body.len())
            .unwrap_or(body.len() * 3),
    );
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut text, !truncated);
    match result {
        DecoderResult::InputEmpty => Ok(Decoded {
            text,
            encoding: enc,
            bom,
            confidence: 1.0,
        }),
        DecoderResult::Malformed(bad, extra) => Err(SniffError::Undecodable {
            encoding: enc.name().to_string(),
            offset: (read + if bom { bom_len } else { 0 })
                .saturating_sub(bad as usize + extra as usize),
        }),
        DecoderResult::OutputFull => unreachable!("the buffer holds the worst case"),
    }
}

/// UTF-16 without a BOM: ASCII text has a zero byte in every other position.
fn utf16_without_bom(b: &[u8]) -> Option<&'static Encoding> {
    let n = b.len().min(4096) & !1;
    if n < 8 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for (i, &c) in b[..n].iter().enumerate() {
        if c == 0 {
            if i % 2 == 0 {
                even += 1
            } else {
                odd += 1
            }
        }
    }
    let half = n / 2;
    if odd * 10 > half * 3 && even * 20 < half {
        Some(UTF_16LE)
    } else if even * 10 > half * 3 && odd * 20 < half {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Guesses the encoding and decodes.
pub fn decode_guess(b: &[u8], truncated: bool) -> Result<Decoded, SniffError> {
    if let Some((enc, _)) = Encoding::for_bom(b) {
        let mut d = decode_as(b, truncated, enc.name())?;
        d.bom = true;
        return Ok(d);
    }
    if let Some(enc) = utf16_without_bom(b) {
        if let Ok(mut d) = decode_as(b, truncated, enc.name()) {
            d.confidence = 0.9;
            return Ok(d);
        }
    }
    match std::str::from_utf8(b) {
        Ok(s) => {
            return Ok(Decoded {
                text: s.to_string(),
                encoding: UTF_8,
                bom: false,
                confidence: if s.is_ascii() { 1.0 } else { 0.99 },
            })
        }
        // A prefix may end inside a multi-byte character.
        Err(e) if truncated && e.error_len().is_none() => {
            return Ok(Decoded {
                text: String::from_utf8_lossy(&b[..e.valid_up_to()]).into_owned(),
                encoding: UTF_8,
                bom: false,
                confidence: 0.99,
            })
        }
        Err(_) => {}
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(b, !truncated);
    let mut enc = det.guess(None, chardetng::Utf8Detection::Deny);
    // GBK and GB18030 decode alike; only GB18030 has four-byte sequences.
    if enc == GBK && has_four_byte_gb18030(b) {
        enc = GB18030;
    }
    let (text, malformed) = enc.decode_without_bom_handling(b);
    Ok(Decoded {
        text: text.into_owned(),
        encoding: enc,
        bom: false,
        confidence: if malformed { 0.3 } else { 0.8 },
    })
}

/// A GB18030 four-byte sequence: lead byte, digit, lead byte, digit (after skipping
/// ASCII and two-byte pairs, so a pair's trail byte never starts one).
fn has_four_byte_gb18030(b: &[u8]) -> bool {
    let lead = |c: u8| (0x81..=0xFE).contains(&c);
    let digit = |c: u8| c.is_ascii_digit();
    let mut i = 0;
    while i < b.len() {
        if !lead(b[i]) {
            i += 1;
        } else if b.len() > i + 3 && digit(b[i + 1]) && lead(b[i + 2]) && digit(b[i + 3]) {
            return true;
        } else {
            i += 2;
        }
    }
    false
}

/// Text that is not meant to be read as text: NULs or many control characters.
pub fn looks_binary(text: &str) -> bool {
    let mut control = 0usize;
    let mut total = 0usize;
    for c in text.chars().take(65_536) {
        total += 1;
        if c == '\0' {
            return true;
        }
        if c.is_control()
            && !matches!(c, '\t' | '\n' | '\r' | '\x0C' | '\x1E')
            && !crate::dialect::is_separator_control(c)
        {
            control += 1;
        }
    }
    control * 100 > total.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("name\nMüller;Renée;São Paulo\n");
        assert_eq!(
            decode_guess(&latin, false).unwrap().encoding.name(),
            "windows-1252"
        );
        let (sjis, _, _) = encoding_rs::SHIFT_JIS
            .encode("名前,都市\n山田太郎,東京都\n佐藤花子,大阪府\n鈴木一郎,名古屋市\n");
        assert_eq!(
            decode_guess(&sjis, false).unwrap().encoding.name(),
            "Shift_JIS"
        );
        let le: Vec<u8> = "a,b\n1,2\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let d = decode_guess(&le, false).unwrap();
        assert_eq!(
            (d.encoding.name(), d.text.as_str()),
            ("UTF-16LE", "a,b\n1,2\n")
        );
        let (gb, _, _) =
            encoding_rs::GB18030.encode("姓名,城市\n王䶮,北京\n李𠀾,上海\n陈静,广州\n赵敏,深圳\n");
        assert_eq!(decode_guess(&gb, false).unwrap().encoding.name(), "gb18030");
        let (gbk, _, _) =
            encoding_rs::GBK.encode("姓名,城市\n张伟,北京\n李娜,上海\n陈静,广州\n赵敏,深圳\n");
        assert_eq!(decode_guess(&gbk, false).unwrap().encoding.name(), "GBK");
        let bom = b"\xEF\xBB\xBFa,b\n";
        let d = decode_guess(bom, false).unwrap();
        assert!(d.bom && d.text == "a,b\n");
    }

    #[test]
    fn declared_encoding_errors_name_the_offset() {
        let e = decode_as(b"ab\xFFcd", false, "utf-8").unwrap_err();
        assert_eq!(
            e,
            SniffError::Undecodable {
                encoding: "UTF-8".into(),
                offset: 2
            }
        );
        assert!(matches!(
            decode_as(b"x", false, "klingon"),
            Err(SniffError::UnknownEncoding(_))
        ));
        // A truncated sample may end mid-character.
        assert!(decode_as("aé".as_bytes().split_last().unwrap().1, true, "utf-8").is_ok());
    }
}
