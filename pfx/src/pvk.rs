//! Reading the PVK file SQL Server's `CERTPRIVATEKEY` returns into an RSA private key.
//!
//! Hand-written because no maintained Rust crate reads PVK (Microsoft's private key file of the
//! CryptoAPI era); RustCrypto reads PKCS#1 and PKCS#8 only. Only the container is parsed here:
//! RC4, SHA-1 and the RSA arithmetic and key checks come from RustCrypto crates.
//!
//! Layout, as OpenSSL's reference reader (crypto/pem/pvkfmt.c) and writer define it, all
//! integers little-endian:
//! - a 24-byte header of six u32: magic 0xB0B5F11E, reserved, key type (1 exchange, 2 sign),
//!   encrypted flag, salt length, key blob length;
//! - the salt;
//! - the key blob: an 8-byte BLOBHEADER (type 7 = PRIVATEKEYBLOB, version 2, reserved u16,
//!   algorithm id u32), then RSAPUBKEY (magic "RSA2", bit length, public exponent, u32 each),
//!   then modulus, prime1, prime2, exponent1, exponent2, coefficient and private exponent, each
//!   little-endian: the modulus and private exponent `ceil(bits/8)` bytes, the other five
//!   `ceil(bits/16)`.
//!
//! When the salt is not empty, the blob after its BLOBHEADER is RC4-encrypted with the first 16
//! bytes of SHA-1(salt || password). A "weak" (40-bit, export-grade) PVK keeps the first 5 of
//! those bytes and zeroes the other 11. Nothing in the file says which: like OpenSSL, try the
//! strong key, and the weak one when the decrypted magic is not a private key's.

use rc4::{KeyInit, Rc4, StreamCipher};
use rsa::traits::PrivateKeyParts;
use rsa::{BoxedUint, PrivateKey as RsaPrivateKey};
use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use crate::error::PfxError;

const PVK_MAGIC: u32 = 0xB0B5_F11E;
const HEADER_LEN: usize = 24;
const BLOBHEADER_LEN: usize = 8;
/// RSAPUBKEY: magic, bit length, public exponent.
const RSAPUBKEY_LEN: usize = 12;
const PRIVATEKEYBLOB: u8 = 0x07;
const PUBLICKEYBLOB: u8 = 0x06;
const BLOB_VERSION: u8 = 0x02;
const RSA2_MAGIC: u32 = 0x3241_5352; // "RSA2": RSA private key
const RSA1_MAGIC: u32 = 0x3141_5352; // "RSA1": RSA public key
const DSS2_MAGIC: u32 = 0x3253_5344; // "DSS2": DSA private key
const DSS1_MAGIC: u32 = 0x3153_5344; // "DSS1": DSA public key
/// OpenSSL's bounds on the header's lengths (PVK_MAX_SALTLEN, PVK_MAX_KEYLEN): they keep a
/// hostile header from asking for a huge allocation.
const MAX_SALT_LEN: usize = 10_240;
const MAX_KEY_LEN: usize = 102_400;
/// SQL Server makes and imports RSA keys of 384 to 4096 bits (CREATE CERTIFICATE); a
/// generous bound that still keeps the key checks' arithmetic cheap on hostile input.
const MAX_KEY_BITS: usize = 16_384;

/// Decrypts and checks the PVK `pvk` with `password` (its UTF-8 bytes; CryptoAPI hashes the
/// password's ANSI bytes, which are the same for the ASCII passwords ferry chooses).
///
/// The returned key has passed RustCrypto's consistency checks (n = p·q, d·e ≡ 1 mod p−1 and
/// mod q−1), and the PVK's own CRT values agree with it.
pub(crate) fn decode(pvk: &[u8], password: &str) -> Result<RsaPrivateKey, PfxError> {
    let not_pvk = |reason| PfxError::NotPvk { reason };
    if pvk.len() < HEADER_LEN {
        return Err(not_pvk("it is shorter than the 24-byte PVK header"));
    }
    let field = |i: usize| le_u32(&pvk[i * 4..i * 4 + 4]);
    if field(0) != PVK_MAGIC {
        return Err(not_pvk(
            "it does not start with the PVK magic number 0xB0B5F11E",
        ));
    }
    let encrypted = field(3) != 0;
    let (salt_len, key_len) = (field(4) as usize, field(5) as usize);
    if salt_len > MAX_SALT_LEN || key_len > MAX_KEY_LEN {
        return Err(not_pvk(
            "its header gives a salt or key length beyond the format's limits",
        ));
    }
    if encrypted && salt_len == 0 {
        return Err(not_pvk("its header says encrypted but gives no salt"));
    }
    let expected = HEADER_LEN + salt_len + key_len;
    if pvk.len() < expected {
        return Err(not_pvk("it is shorter than its header says (truncated)"));
    }
    if pvk.len() > expected {
        return Err(not_pvk("it has bytes after the key its header describes"));
    }
    if key_len < BLOBHEADER_LEN + RSAPUBKEY_LEN {
        return Err(not_pvk("its key blob is too short to hold a key header"));
    }
    let salt = &pvk[HEADER_LEN..HEADER_LEN + salt_len];
    let blob = &pvk[HEADER_LEN + salt_len..];
    match (blob[0], blob[1]) {
        (PRIVATEKEYBLOB, BLOB_VERSION) => {}
        (PUBLICKEYBLOB, _) => return Err(not_pvk("it holds a public key blob, not a private key")),
        (PRIVATEKEYBLOB, _) => return Err(not_pvk("its key blob is not version 2")),
        _ => return Err(not_pvk("its key blob header is not a PRIVATEKEYBLOB")),
    }

    // OpenSSL decrypts whenever there is a salt, whatever the flag says; so does this reader.
    let body = if salt_len == 0 {
        let body = Zeroizing::new(blob[BLOBHEADER_LEN..].to_vec());
        match le_u32(&body[..4]) {
            RSA2_MAGIC | DSS2_MAGIC => {}
            RSA1_MAGIC | DSS1_MAGIC => {
                return Err(not_pvk("it holds a public key, not a private key"));
            }
            _ => return Err(not_pvk("its key blob has no RSA2 or DSS2 key header")),
        }
        body
    } else {
        decrypt(salt, password, &blob[BLOBHEADER_LEN..])?
    };
    if le_u32(&body[..4]) == DSS2_MAGIC {
        return Err(PfxError::NotRsa {
            what: "the private key",
            found: "DSA".into(),
        });
    }
    rsa_key(&body)
}

/// RC4 with the strong key, then the weak one; the one that yields a private key magic wins.
fn decrypt(salt: &[u8], password: &str, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, PfxError> {
    let mut digest = Zeroizing::new([0u8; 20]);
    let mut hash = Sha1::new();
    hash.update(salt);
    hash.update(password.as_bytes());
    digest.copy_from_slice(&hash.finalize());

    let mut strong = Zeroizing::new([0u8; 16]);
    strong.copy_from_slice(&digest[..16]);
    let mut weak = Zeroizing::new([0u8; 16]);
    weak[..5].copy_from_slice(&digest[..5]);

    for key in [&strong, &weak] {
        let mut body = Zeroizing::new(ciphertext.to_vec());
        let mut cipher = Rc4::new_from_slice(&key[..]).expect("RC4 takes keys of 1 to 256 bytes");
        cipher.apply_keystream(&mut body);
        if matches!(le_u32(&body[..4]), RSA2_MAGIC | DSS2_MAGIC) {
            return Ok(body);
        }
    }
    Err(PfxError::WrongPassword)
}

/// The RSA key in a decrypted blob body (RSAPUBKEY onwards), checked for consistency.
fn rsa_key(body: &[u8]) -> Result<RsaPrivateKey, PfxError> {
    let bits = le_u32(&body[4..8]) as usize;
    if bits == 0 || bits > MAX_KEY_BITS {
        return Err(PfxError::InconsistentKey {
            reason: "its bit length is zero or beyond 16384",
        });
    }
    let (full, half) = (bits.div_ceil(8), bits.div_ceil(16));
    let mut rest = &body[RSAPUBKEY_LEN..];
    if rest.len() < 2 * full + 5 * half {
        return Err(PfxError::NotPvk {
            reason: "its key blob is shorter than the key's bit length needs",
        });
    }
    let mut take = |len: usize| {
        let (number, tail) = rest.split_at(len);
        rest = tail;
        big_endian(number)
    };
    let e = BoxedUint::from(u64::from(le_u32(&body[8..12])));
    let n = take(full);
    let (p, q, dp, dq, qinv, d) = (
        take(half),
        take(half),
        take(half),
        take(half),
        take(half),
        take(full),
    );

    let inconsistent = |reason| PfxError::InconsistentKey { reason };
    // Variable-time decoding is fine: the key is read once, on the operator's machine, where
    // no one can time it.
    let uint = |be: &[u8]| BoxedUint::from_be_slice_vartime(be);
    let key = RsaPrivateKey::from_components(uint(&n), e, uint(&d), vec![uint(&p), uint(&q)])
        .map_err(|_| inconsistent("its modulus, primes and exponents do not form an RSA key"))?;

    // RustCrypto recomputes the CRT values from d, p and q (and those are what the PKCS#8
    // output carries); the PVK's own copies agreeing is one more sign the blob is intact.
    let same = |computed: Option<&BoxedUint>, stored: &[u8]| {
        computed.is_some_and(|c| trimmed(&Zeroizing::new(c.to_be_bytes())) == trimmed(stored))
    };
    let qinv_computed = key.crt_coefficient().map(Zeroizing::new);
    if !same(key.dp(), &dp) || !same(key.dq(), &dq) || !same(qinv_computed.as_deref(), &qinv) {
        return Err(inconsistent("its CRT values do not match its primes"));
    }
    Ok(key)
}

fn le_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// A little-endian number turned big-endian, in memory that is wiped when dropped.
fn big_endian(little: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(little.iter().rev().copied().collect())
}

fn trimmed(be: &[u8]) -> &[u8] {
    let zeros = be.iter().take_while(|&&b| b == 0).count();
    &be[zeros..]
}
