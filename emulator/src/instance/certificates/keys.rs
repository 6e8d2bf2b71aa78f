//! RSA private keys: the components PVK carries, and PKCS#8 (what rcgen makes, what PKCS#12
//! holds, what the emulator stores), with the `rsa` crate checking that the components are a
//! key (primes multiply to the modulus, the exponents agree).

use rsa::PrivateKey;
use rsa::pkcs1::der::{Decode, Encode};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, UintRef};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::{Digest, Sha256};

/// An RSA private key's components, big-endian without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RsaParts {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub d: Vec<u8>,
    pub p: Vec<u8>,
    pub q: Vec<u8>,
    pub dp: Vec<u8>,
    pub dq: Vec<u8>,
    pub qinv: Vec<u8>,
}

/// Bytes that are not a consistent RSA private key.
#[derive(Debug)]
pub(super) struct NotAKey;

impl RsaParts {
    /// The key in a PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8(der: &[u8]) -> Result<RsaParts, NotAKey> {
        let key = PrivateKey::from_pkcs8_der(der).map_err(|_| NotAKey)?;
        let pkcs1 = key.to_pkcs1_der().map_err(|_| NotAKey)?;
        let k = rsa::pkcs1::RsaPrivateKey::from_der(pkcs1.as_bytes()).map_err(|_| NotAKey)?;
        let v = |u: UintRef<'_>| u.as_bytes().to_vec();
        Ok(RsaParts {
            n: v(k.modulus),
            e: v(k.public_exponent),
            d: v(k.private_exponent),
            p: v(k.prime1),
            q: v(k.prime2),
            dp: v(k.exponent1),
            dq: v(k.exponent2),
            qinv: v(k.coefficient),
        })
    }

    /// The key as PKCS#8, once the components are checked to make a key.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, NotAKey> {
        fn u(b: &[u8]) -> Result<UintRef<'_>, NotAKey> {
            UintRef::new(b).map_err(|_| NotAKey)
        }
        let pkcs1 = rsa::pkcs1::RsaPrivateKey {
            modulus: u(&self.n)?,
            public_exponent: u(&self.e)?,
            private_exponent: u(&self.d)?,
            prime1: u(&self.p)?,
            prime2: u(&self.q)?,
            exponent1: u(&self.dp)?,
            exponent2: u(&self.dq)?,
            coefficient: u(&self.qinv)?,
            other_prime_infos: None,
        }
        .to_der()
        .map_err(|_| NotAKey)?;
        let key = PrivateKey::from_pkcs1_der(&pkcs1).map_err(|_| NotAKey)?;
        Ok(key.to_pkcs8_der().map_err(|_| NotAKey)?.as_bytes().to_vec())
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.n.len() * 8 - self.n.first().map_or(0, |b| b.leading_zeros() as usize)
    }
}

/// What the emulator keeps of a password that protects a private key, to check the one a
/// statement gives.
pub(super) fn password_hash(password: &str) -> Vec<u8> {
    Sha256::digest(password.as_bytes()).to_vec()
}
