//! SERVERPROPERTY values that depend on the instance's configuration rather than on the
//! personality alone ("SERVERPROPERTY (Transact-SQL)").

use super::env::Env;
use crate::protocol::types::{SqlType, Value};

/// `FilestreamConfiguredLevel` ("the configured level of FILESTREAM access", the `filestream
/// access level` option's configured value) and `FilestreamEffectiveLevel` ("can be different
/// than the FilestreamConfiguredLevel if the level has changed and either an instance restart
/// or a computer restart is pending": the value in use). Both int. The Windows service's own
/// FILESTREAM setting (SQL Server Configuration Manager) does not exist in the emulator, which
/// takes it as allowing every level. Managed Instance has no such option: 0, FILESTREAM is off.
pub(super) fn property(name: &str, env: &Env<'_>) -> Option<Value> {
    let which = match name.to_ascii_lowercase().as_str() {
        "filestreamconfiguredlevel" => 0,
        "filestreameffectivelevel" => 1,
        _ => return None,
    };
    let level = env
        .inst
        .configuration("filestream access level")
        .map_or(0, |(value, in_use)| if which == 0 { value } else { in_use });
    Some(Value::Variant(Box::new((SqlType::Int, Value::Int(level)))))
}
