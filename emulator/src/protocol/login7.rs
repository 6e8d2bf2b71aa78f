//! LOGIN7 (MS-TDS 2.2.6.4): a fixed part, then (offset, length-in-characters) pairs pointing at
//! UTF-16LE strings, an obfuscated password, and an optional FeatureExt block reached through
//! an indirect offset.

use super::{ProtocolError, malformed};

const FIXED_LEN: usize = 94;
/// "The length of a LOGIN7 stream MUST NOT be longer than 128K-1(byte) bytes" (MS-TDS 2.2.6.4).
pub const MAX_LEN: usize = 128 * 1024 - 1;
/// OptionFlags3 bit: the Extension pair points at a FeatureExt offset.
const F_EXTENSION: u8 = 0x10;
const FEATURE_FEDAUTH: u8 = 0x02;
const FEATURE_TERMINATOR: u8 = 0xFF;
/// FEDAUTH library: the client sends a ready-made token (MS-TDS 2.2.6.4, bFedAuthLibrary 0x01).
const FEDAUTH_LIBRARY_SECURITY_TOKEN: u8 = 0x01;

/// What a LOGIN7 says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub tds_version: u32,
    pub packet_size: u32,
    pub host_name: String,
    pub user_name: String,
    /// De-obfuscated. Never logged.
    pub password: String,
    pub app_name: String,
    pub server_name: String,
    pub database: String,
    /// An Entra access token sent through the FEDAUTH feature (security-token library).
    pub access_token: Option<String>,
    /// The client set fFedAuthEcho (it saw FEDAUTHREQUIRED in our PRELOGIN).
    pub fed_auth_echo: bool,
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ProtocolError> {
    let s = b
        .get(at..at + 4)
        .ok_or_else(|| malformed("LOGIN7 is truncated"))?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn utf16(bytes: &[u8]) -> Result<String, ProtocolError> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| malformed("LOGIN7 holds invalid UTF-16"))
}

/// The string an (offset, characters) pair at `at` points to.
fn string_at(b: &[u8], at: usize, deobfuscate: bool) -> Result<String, ProtocolError> {
    let offset = u16_at(b, at);
    let chars = u16_at(b, at + 2);
    let raw = b
        .get(offset..offset + chars * 2)
        .ok_or_else(|| malformed(format!("LOGIN7 field at {at} points outside the message")))?;
    if !deobfuscate {
        return utf16(raw);
    }
    // MS-TDS 2.2.6.4: the client swaps the nibbles of each byte, then XORs it with 0xA5.
    let plain: Vec<u8> = raw.iter().map(|x| (x ^ 0xA5).rotate_left(4)).collect();
    utf16(&plain)
}

/// The total length a LOGIN7 announces in its first field, once its first four bytes are there.
pub fn announced_length(b: &[u8]) -> Option<usize> {
    u32_at(b, 0).ok().map(|n| n as usize)
}

/// Parses a LOGIN7 message.
pub fn parse(b: &[u8]) -> Result<Login, ProtocolError> {
    if b.len() > MAX_LEN {
        return Err(malformed(format!(
            "LOGIN7 of {} bytes is longer than the {MAX_LEN} MS-TDS 2.2.6.4 allows",
            b.len()
        )));
    }
    if b.len() < FIXED_LEN {
        return Err(malformed(format!(
            "LOGIN7 of {} bytes is shorter than its fixed part",
            b.len()
        )));
    }
    let declared = u32_at(b, 0)? as usize;
    if declared != b.len() {
        return Err(malformed(format!(
            "LOGIN7 says it is {declared} bytes but is {}",
            b.len()
        )));
    }
    let option_flags3 = b[27];
    let mut login = Login {
        tds_version: u32_at(b, 4)?,
        packet_size: u32_at(b, 8)?,
        host_name: string_at(b, 36, false)?,
        user_name: string_at(b, 40, false)?,
        password: string_at(b, 44, true)?,
        app_name: string_at(b, 48, false)?,
        server_name: string_at(b, 52, false)?,
        database: string_at(b, 68, false)?,
        access_token: None,
        fed_auth_echo: false,
    };
    if option_flags3 & F_EXTENSION != 0 {
        let ib = u16_at(b, 56);
        let feature_at = u32_at(b, ib)? as usize;
        parse_features(b, feature_at, &mut login)?;
    }
    Ok(login)
}

fn parse_features(b: &[u8], mut at: usize, login: &mut Login) -> Result<(), ProtocolError> {
    for _ in 0..32 {
        let id = *b
            .get(at)
            .ok_or_else(|| malformed("LOGIN7 FeatureExt has no terminator"))?;
        if id == FEATURE_TERMINATOR {
            return Ok(());
        }
        let len = u32_at(b, at + 1)? as usize;
        let data = b
            .get(at + 5..at + 5 + len)
            .ok_or_else(|| malformed("LOGIN7 feature points outside the message"))?;
        if id == FEATURE_FEDAUTH {
            let options = *data
                .first()
                .ok_or_else(|| malformed("FEDAUTH feature is empty"))?;
            login.fed_auth_echo = options & 0x01 != 0;
            if options >> 1 == FEDAUTH_LIBRARY_SECURITY_TOKEN {
                let token_len = u32_at(data, 1)? as usize;
                let token = data
                    .get(5..5 + token_len)
                    .ok_or_else(|| malformed("FEDAUTH token is truncated"))?;
                login.access_token = Some(utf16(token)?);
            }
        }
        at += 5 + len;
    }
    Err(malformed("LOGIN7 has too many features"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a LOGIN7 the way a client does, for tests.
    pub fn build(user: &str, password: &str, database: &str, token: Option<&str>) -> Vec<u8> {
        let enc = |s: &str| {
            s.encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect::<Vec<u8>>()
        };
        let obf = |s: &str| {
            enc(s)
                .into_iter()
                .map(|x| x.rotate_left(4) ^ 0xA5)
                .collect::<Vec<u8>>()
        };
        let mut fixed = vec![0u8; FIXED_LEN];
        fixed[4..8].copy_from_slice(&0x7400_0004u32.to_le_bytes());
        fixed[8..12].copy_from_slice(&4096u32.to_le_bytes());
        let mut data = Vec::new();
        let mut put = |fixed: &mut Vec<u8>, at: usize, bytes: Vec<u8>, chars: usize| {
            let off = FIXED_LEN + data.len();
            fixed[at..at + 2].copy_from_slice(&(off as u16).to_le_bytes());
            fixed[at + 2..at + 4].copy_from_slice(&(chars as u16).to_le_bytes());
            data.extend_from_slice(&bytes);
        };
        put(&mut fixed, 40, enc(user), user.encode_utf16().count());
        put(
            &mut fixed,
            44,
            obf(password),
            password.encode_utf16().count(),
        );
        put(
            &mut fixed,
            68,
            enc(database),
            database.encode_utf16().count(),
        );
        if let Some(t) = token {
            fixed[27] |= F_EXTENSION;
            let ext_off = FIXED_LEN + data.len();
            fixed[56..58].copy_from_slice(&(ext_off as u16).to_le_bytes());
            fixed[58..60].copy_from_slice(&4u16.to_le_bytes());
            let feature_at = ext_off + 4;
            data.extend_from_slice(&(feature_at as u32).to_le_bytes());
            let tok = enc(t);
            let mut fd = vec![(FEDAUTH_LIBRARY_SECURITY_TOKEN << 1) | 1];
            fd.extend_from_slice(&(tok.len() as u32).to_le_bytes());
            fd.extend_from_slice(&tok);
            data.push(FEATURE_FEDAUTH);
            data.extend_from_slice(&(fd.len() as u32).to_le_bytes());
            data.extend_from_slice(&fd);
            data.push(FEATURE_TERMINATOR);
        }
        let mut out = fixed;
        out.extend_from_slice(&data);
        let len = out.len() as u32;
        out[0..4].copy_from_slice(&len.to_le_bytes());
        out
    }

    #[test]
    fn parses_sql_and_token_logins() {
        let l = parse(&build("sa", "P@ssw0rd!", "master", None)).unwrap();
        assert_eq!(
            (
                l.user_name.as_str(),
                l.password.as_str(),
                l.database.as_str()
            ),
            ("sa", "P@ssw0rd!", "master")
        );
        assert_eq!(l.access_token, None);
        let l = parse(&build("", "", "", Some("eyJ0b2tlbiI"))).unwrap();
        assert_eq!(l.access_token.as_deref(), Some("eyJ0b2tlbiI"));
        assert!(l.fed_auth_echo);
    }

    #[test]
    fn lying_offsets_are_refused() {
        let mut b = build("sa", "pw", "master", None);
        b[40] = 0xFF;
        b[41] = 0x7F;
        assert!(parse(&b).is_err());
        assert!(parse(&b[..50]).is_err());
    }
}
