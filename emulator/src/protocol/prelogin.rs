//! PRELOGIN (MS-TDS 2.2.6.5): an option table of (token, big-endian offset, big-endian length)
//! entries ended by 0xFF, then the option data.

use super::{ProtocolError, malformed};

const VERSION: u8 = 0x00;
const ENCRYPTION: u8 = 0x01;
const INSTOPT: u8 = 0x02;
const THREADID: u8 = 0x03;
const MARS: u8 = 0x04;
const FEDAUTHREQUIRED: u8 = 0x06;
const TERMINATOR: u8 = 0xFF;

/// ENCRYPTION option values (MS-TDS 2.2.6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    Off = 0x00,
    On = 0x01,
    NotSupported = 0x02,
    Required = 0x03,
}

impl Encryption {
    fn from_u8(b: u8) -> Result<Self, ProtocolError> {
        Ok(match b {
            0x00 => Encryption::Off,
            0x01 => Encryption::On,
            0x02 => Encryption::NotSupported,
            0x03 => Encryption::Required,
            // 0x20 (ENCRYPT_CLIENT_CERT) and the like are not used by the clients we serve.
            other => {
                return Err(malformed(format!(
                    "unknown PRELOGIN encryption value 0x{other:02x}"
                )));
            }
        })
    }
}

/// What the client's PRELOGIN asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPrelogin {
    pub encryption: Encryption,
    pub fed_auth_required: bool,
    pub instance: Option<String>,
}

/// Parses a client PRELOGIN, checking every offset and length against the payload.
pub fn parse(payload: &[u8]) -> Result<ClientPrelogin, ProtocolError> {
    let mut out = ClientPrelogin {
        encryption: Encryption::Off,
        fed_auth_required: false,
        instance: None,
    };
    let mut i = 0;
    loop {
        let token = *payload
            .get(i)
            .ok_or_else(|| malformed("PRELOGIN option table has no terminator"))?;
        if token == TERMINATOR {
            return Ok(out);
        }
        let entry = payload
            .get(i + 1..i + 5)
            .ok_or_else(|| malformed("PRELOGIN option entry is truncated"))?;
        let offset = u16::from_be_bytes([entry[0], entry[1]]) as usize;
        let len = u16::from_be_bytes([entry[2], entry[3]]) as usize;
        let data = payload.get(offset..offset + len).ok_or_else(|| {
            malformed(format!(
                "PRELOGIN option 0x{token:02x} points outside the message"
            ))
        })?;
        match token {
            ENCRYPTION if len >= 1 => out.encryption = Encryption::from_u8(data[0])?,
            FEDAUTHREQUIRED if len >= 1 => out.fed_auth_required = data[0] == 0x01,
            INSTOPT => {
                let name: Vec<u8> = data.iter().copied().take_while(|b| *b != 0).collect();
                if !name.is_empty() {
                    out.instance = Some(String::from_utf8_lossy(&name).into_owned());
                }
            }
            _ => {}
        }
        i += 5;
        if i > 5 * 64 {
            return Err(malformed("PRELOGIN has too many options"));
        }
    }
}

/// The server's PRELOGIN reply.
pub struct ServerPrelogin {
    /// Product version: major, minor, build.
    pub version: (u8, u8, u16),
    pub encryption: Encryption,
    /// Echoed when the client sent FEDAUTHREQUIRED (tiberius derives fFedAuthEcho from it).
    pub fed_auth_required: Option<bool>,
}

/// Encodes the reply: VERSION, ENCRYPTION, INSTOPT (a lone 0x00: instance valid), THREADID
/// (empty), MARS (off), and FEDAUTHREQUIRED when echoed (tds.md §3).
pub fn encode(reply: &ServerPrelogin) -> Vec<u8> {
    let (major, minor, build) = reply.version;
    let mut options: Vec<(u8, Vec<u8>)> = vec![
        (
            VERSION,
            vec![major, minor, (build >> 8) as u8, build as u8, 0, 0],
        ),
        (ENCRYPTION, vec![reply.encryption as u8]),
        (INSTOPT, vec![0]),
        (THREADID, vec![]),
        (MARS, vec![0]),
    ];
    if let Some(f) = reply.fed_auth_required {
        options.push((FEDAUTHREQUIRED, vec![u8::from(f)]));
    }
    let table_len = options.len() * 5 + 1;
    let mut table = Vec::with_capacity(table_len);
    let mut data = Vec::new();
    for (token, bytes) in &options {
        table.push(*token);
        table.extend_from_slice(&((table_len + data.len()) as u16).to_be_bytes());
        table.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        data.extend_from_slice(bytes);
    }
    table.push(TERMINATOR);
    table.extend_from_slice(&data);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_round_trips_through_the_parser() {
        let bytes = encode(&ServerPrelogin {
            version: (15, 0, 4316),
            encryption: Encryption::Required,
            fed_auth_required: Some(true),
        });
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.encryption, Encryption::Required);
        assert!(parsed.fed_auth_required);
        assert_eq!(parsed.instance, None);
    }

    #[test]
    fn offsets_outside_the_message_are_refused() {
        assert!(parse(&[ENCRYPTION, 0x00, 0x40, 0x00, 0x01, TERMINATOR]).is_err());
        assert!(parse(&[ENCRYPTION, 0x00]).is_err());
        assert!(parse(&[]).is_err());
    }
}
