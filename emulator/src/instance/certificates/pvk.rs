//! Microsoft's PVK private-key container, the format `CERTPRIVATEKEY` returns and
//! `CREATE CERTIFICATE … WITH PRIVATE KEY (BINARY = …)` reads ("CERTPRIVATEKEY
//! (Transact-SQL)": "This function returns the private key in PVK format"; "CREATE
//! CERTIFICATE": "The private key bits should be in a PVK file format").
//!
//! Written by hand because no Rust crate reads or writes PVK. The layout, all integers
//! little-endian, as OpenSSL's reader and writer (crypto/pem/pvkfmt.c) and Microsoft's
//! CryptoAPI key-blob documentation ("PUBLICKEYSTRUC", "RSAPUBKEY", "Private Key BLOBs")
//! give it:
//!
//! ```text
//! u32 magic 0xB0B5F11E | u32 reserved 0 | u32 keytype (1 = AT_KEYEXCHANGE)
//! u32 encrypted (0|1)  | u32 salt length (16 when encrypted, else 0) | u32 key length
//! salt
//! PRIVATEKEYBLOB, key length bytes:
//!   BLOBHEADER: u8 bType 0x07 | u8 bVersion 0x02 | u16 reserved | u32 aiKeyAlg 0xA400 (CALG_RSA_KEYX)
//!   -- RC4-encrypted from here on when encrypted --
//!   RSAPUBKEY: u32 magic "RSA2" | u32 bitlen | u32 pubexp
//!   modulus (bitlen/8) | prime1, prime2, exponent1, exponent2, coefficient (bitlen/16 each)
//!   | privateExponent (bitlen/8)
//! ```
//!
//! The RC4 key is the first 16 bytes of SHA-1(salt ‖ password) ("strong" encryption; OpenSSL
//! also reads the 40-bit "weak" form, which keeps 5 bytes and zeroes the other 11, and so does
//! this reader). The password's bytes are its UTF-8 encoding — a guess for non-ASCII passwords
//! (Windows tools hash the ANSI code page's bytes); ASCII ones are the same either way.

use rc4::{KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};

use super::keys::RsaParts;

const MAGIC: u32 = 0xB0B5_F11E;
const RSA2: u32 = 0x3241_5352;
const PRIVATEKEYBLOB: u8 = 0x07;
const CALG_RSA_KEYX: u32 = 0x0000_A400;
const CALG_RSA_SIGN: u32 = 0x0000_2400;
const HEADER: usize = 24;
const BLOBHEADER: usize = 8;
const SALT: usize = 16;

/// Why bytes could not be read as a PVK key.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PvkError {
    /// Not a PVK container, or not an RSA private key in one.
    Malformed(String),
    /// Encrypted, and no password was given.
    PasswordNeeded,
    /// The password does not decrypt it.
    WrongPassword,
}

fn rc4(key: &[u8], data: &mut [u8]) {
    if let Ok(mut c) = Rc4::new_from_slice(key) {
        c.apply_keystream(data);
    }
}

fn strong_key(salt: &[u8], password: &str) -> [u8; 16] {
    let digest = Sha1::new()
        .chain_update(salt)
        .chain_update(password.as_bytes())
        .finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// Little-endian bytes of `v`, `len` long (`v` is big-endian; zero-padded).
fn le(v: &[u8], len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = v.iter().rev().copied().collect();
    out.resize(len, 0);
    out
}

/// Big-endian bytes, without leading zeros, of the little-endian `v`.
fn be(v: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = v.iter().rev().copied().collect();
    let start = out.iter().position(|&b| b != 0).unwrap_or(out.len());
    out.drain(..start);
    out
}

/// `key` in a PVK container, RC4-encrypted under `password` with `salt` (16 bytes).
pub(super) fn write(key: &RsaParts, password: &str, salt: &[u8; SALT]) -> Vec<u8> {
    let bits = key.bits();
    let (nbyte, hnbyte) = (bits.div_ceil(8), bits.div_ceil(16));
    let mut body = Vec::new();
    body.extend(RSA2.to_le_bytes());
    body.extend((bits as u32).to_le_bytes());
    body.extend(le(&key.e, 4));
    body.extend(le(&key.n, nbyte));
    for part in [&key.p, &key.q, &key.dp, &key.dq, &key.qinv] {
        body.extend(le(part, hnbyte));
    }
    body.extend(le(&key.d, nbyte));
    rc4(&strong_key(salt, password), &mut body);

    let mut out = Vec::with_capacity(HEADER + SALT + BLOBHEADER + body.len());
    for v in [
        MAGIC,
        0,
        1,
        1,
        SALT as u32,
        (BLOBHEADER + body.len()) as u32,
    ] {
        out.extend(v.to_le_bytes());
    }
    out.extend(salt);
    out.extend([PRIVATEKEYBLOB, 0x02, 0, 0]);
    out.extend(CALG_RSA_KEYX.to_le_bytes());
    out.extend(body);
    out
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads the RSA private key a PVK container holds, decrypting it with `password` when it is
/// encrypted.
pub(super) fn read(bytes: &[u8], password: Option<&str>) -> Result<RsaParts, PvkError> {
    let bad = |why: &str| PvkError::Malformed(why.to_owned());
    let field = |i: usize| u32_at(bytes, 4 * i).ok_or_else(|| bad("shorter than a PVK header"));
    if field(0)? != MAGIC {
        return Err(bad("no PVK magic number"));
    }
    let (encrypted, salt_len, key_len) = (field(3)? != 0, field(4)? as usize, field(5)? as usize);
    if encrypted && salt_len == 0 {
        return Err(bad("encrypted without a salt"));
    }
    let salt = bytes
        .get(HEADER..HEADER + salt_len)
        .ok_or_else(|| bad("shorter than its salt"))?;
    let blob = bytes
        .get(HEADER + salt_len..)
        .filter(|b| b.len() == key_len && key_len > BLOBHEADER)
        .ok_or_else(|| bad("its key length does not match its size"))?;
    let alg = u32_at(blob, 4).unwrap_or(0);
    if blob[0] != PRIVATEKEYBLOB || !(alg == CALG_RSA_KEYX || alg == CALG_RSA_SIGN) {
        return Err(bad("not an RSA PRIVATEKEYBLOB"));
    }
    let mut body = blob[BLOBHEADER..].to_vec();
    if encrypted {
        let password = password.ok_or(PvkError::PasswordNeeded)?;
        let strong = strong_key(salt, password);
        let mut weak = strong;
        weak[5..].fill(0);
        let tried = [strong, weak].into_iter().find_map(|key| {
            let mut plain = body.clone();
            rc4(&key, &mut plain);
            (u32_at(&plain, 0) == Some(RSA2)).then_some(plain)
        });
        body = tried.ok_or(PvkError::WrongPassword)?;
    } else if u32_at(&body, 0) != Some(RSA2) {
        return Err(bad("not an RSA2 private key"));
    }
    let bits = u32_at(&body, 4).unwrap_or(0) as usize;
    let (nbyte, hnbyte) = (bits.div_ceil(8), bits.div_ceil(16));
    if bits == 0 || body.len() != 12 + 2 * nbyte + 5 * hnbyte {
        return Err(bad("its key parts do not fill the blob"));
    }
    let mut at = 12;
    let mut take = |len: usize| {
        let part = be(&body[at..at + len]);
        at += len;
        part
    };
    let n = take(nbyte);
    let (p, q, dp, dq, qinv) = (
        take(hnbyte),
        take(hnbyte),
        take(hnbyte),
        take(hnbyte),
        take(hnbyte),
    );
    let d = take(nbyte);
    Ok(RsaParts {
        n,
        e: be(&body[8..12]),
        d,
        p,
        q,
        dp,
        dq,
        qinv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> RsaParts {
        RsaParts {
            n: vec![0xC1, 2, 3, 4, 5, 6, 7, 8],
            e: vec![1, 0, 1],
            d: vec![9; 8],
            p: vec![0x81, 1, 1, 1],
            q: vec![0x82, 2, 2, 2],
            dp: vec![3; 4],
            dq: vec![4; 4],
            qinv: vec![5; 4],
        }
    }

    #[test]
    fn round_trips_and_refuses_the_wrong_password() {
        let pvk = write(&parts(), "s3cret", &[7; 16]);
        assert_eq!(&pvk[..4], &[0x1E, 0xF1, 0xB5, 0xB0]);
        assert_eq!(read(&pvk, Some("s3cret")).unwrap(), parts());
        assert_eq!(read(&pvk, Some("other")), Err(PvkError::WrongPassword));
        assert_eq!(read(&pvk, None), Err(PvkError::PasswordNeeded));
        assert!(matches!(
            read(&pvk[..30], Some("s3cret")),
            Err(PvkError::Malformed(_))
        ));
        assert!(matches!(read(&[0; 3], None), Err(PvkError::Malformed(_))));
    }
}
