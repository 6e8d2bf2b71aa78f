//! The linked-server procedures: sp_addlinkedserver, sp_addlinkedsrvlogin,
//! sp_droplinkedsrvlogin, sp_serveroption and sp_dropserver, each modelled on its
//! "(Transact-SQL)" reference page, with the Managed Instance's limits from "T-SQL differences
//! between SQL Server and Azure SQL Managed Instance" (Linked servers).

use super::Outcome;
use super::call::{Call, Handler};
use super::proc_args::{bind, missing, text};
use crate::instance::{Instance, LinkedServer, ServerOption, no_such_server};
use crate::protocol::tokens::ServerMessage;

pub const PROCEDURES: &[(&str, Handler)] = &[
    ("sp_addlinkedserver", add_linked_server),
    ("sp_addlinkedsrvlogin", add_linked_login),
    ("sp_droplinkedsrvlogin", drop_linked_login),
    ("sp_serveroption", server_option),
    ("sp_dropserver", drop_server),
];

/// Providers a Managed Instance accepts: "Only the SQLNCLI, SQLNCLI11, SQLOLEDB, and MSOLEDBSQL
/// values are supported as a provider" (T-SQL differences, Linked servers).
const MI_PROVIDERS: &[&str] = &["SQLNCLI", "SQLNCLI11", "SQLOLEDB", "MSOLEDBSQL"];

type Result<T> = std::result::Result<T, Vec<ServerMessage>>;

fn one(e: ServerMessage) -> Vec<ServerMessage> {
    vec![e]
}

/// SQL Server error 15002 (severity 16): these procedures' pages say they cannot be run in a
/// user-defined transaction.
fn outside_transaction(call: &Call<'_>, inst: &Instance, procedure: &str) -> Result<()> {
    if inst.transaction_count(call.session.spid) > 0 {
        return Err(one(ServerMessage::error(
            15002,
            16,
            format!("The procedure 'sys.{procedure}' cannot be executed within a transaction."),
        )));
    }
    Ok(())
}

/// SQL Server error 15600 (severity 15).
fn invalid_option(procedure: &str) -> Vec<ServerMessage> {
    one(ServerMessage::error(
        15600,
        15,
        format!("An invalid parameter or option was specified for procedure 'sys.{procedure}'."),
    ))
}

fn server_id(inst: &Instance, name: &str) -> Result<i64> {
    inst.linked_server_id(name)
        .ok_or_else(|| one(no_such_server(name)))
}

/// A login's principal id; error 15007 (severity 16) when there is no such login.
fn login_id(inst: &Instance, login: &str) -> Result<i64> {
    inst.login_principal_id(login).ok_or_else(|| {
        one(ServerMessage::error(
            15007,
            16,
            format!("'{login}' is not a valid login or you do not have permission."),
        ))
    })
}

fn add_linked_server(call: &Call<'_>, inst: &mut Instance) -> Result<Vec<Outcome>> {
    const P: &str = "sp_addlinkedserver";
    let a = bind(
        call,
        P,
        &[
            "server",
            "srvproduct",
            "provider",
            "datasrc",
            "location",
            "provstr",
            "catalog",
            "linkedstyle",
        ],
    )
    .map_err(one)?;
    outside_transaction(call, inst, P)?;
    if a[0].is_none() {
        return Err(one(missing(P, "server")));
    }
    // SQL Server error 15004 (severity 16).
    let name =
        text(&a[0]).ok_or_else(|| one(ServerMessage::error(15004, 16, "Name cannot be NULL.")))?;
    // The local server is sys.servers' row 0: a linked server cannot take its name.
    if name.eq_ignore_ascii_case(call.session.personality.server_name()) {
        // SQL Server error 15028 (severity 16).
        return Err(one(ServerMessage::error(
            15028,
            16,
            format!("The server '{name}' already exists."),
        )));
    }
    let (product, provider) = (text(&a[1]), text(&a[2]));
    let (data_source, location, provider_string, catalog) =
        (text(&a[3]), text(&a[4]), text(&a[5]), text(&a[6]));
    let has_properties = data_source.is_some()
        || location.is_some()
        || provider_string.is_some()
        || catalog.is_some();
    // "If the value is SQL Server, @provider, @datasrc, @location, @provstr, and @catalog
    // don't have to be specified": the server's name is its network name. The page's table
    // marks SQL Server as the default product.
    let sql_server_product = match &product {
        Some(p) => p.eq_ignore_ascii_case("SQL Server"),
        None => provider.is_none() && !has_properties,
    };
    let server = if sql_server_product {
        if provider.is_some() || has_properties {
            // SQL Server error 15428 (severity 16).
            return Err(one(ServerMessage::error(
                15428,
                16,
                "You cannot specify a provider or any properties for product 'SQL Server'.",
            )));
        }
        LinkedServer {
            name: name.clone(),
            product: "SQL Server".into(),
            provider: "SQLNCLI".into(),
            data_source: Some(name.clone()),
            ..Default::default()
        }
    } else {
        let provider = match (&provider, &product) {
            (Some(p), Some(_)) => p.clone(),
            // SQL Server error 15429 (severity 16): a provider needs a product name.
            (Some(_), None) => {
                return Err(one(ServerMessage::error(
                    15429,
                    16,
                    "'(null)' is an invalid product name.",
                )));
            }
            // SQL Server errors 15426 and 15427 (severity 16).
            (None, None) => {
                return Err(one(ServerMessage::error(
                    15426,
                    16,
                    "You must specify a provider name with this set of properties.",
                )));
            }
            (None, Some(p)) => {
                return Err(one(ServerMessage::error(
                    15427,
                    16,
                    format!("You must specify a provider name for unknown product '{p}'."),
                )));
            }
        };
        // "Even if you specify the older provider name, SQLOLEDB, it will be changed to
        // SQLNCLI when persisted to the catalog" (sp_addlinkedserver, Remarks).
        let provider = if provider.eq_ignore_ascii_case("SQLOLEDB") {
            "SQLNCLI".to_owned()
        } else {
            provider
        };
        LinkedServer {
            name,
            product: product.unwrap_or_default(),
            provider,
            data_source,
            location,
            provider_string,
            catalog,
        }
    };
    if call.session.personality.is_managed_instance()
        && !MI_PROVIDERS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&server.provider))
    {
        // The MI has only the SQL Server providers; others (Oracle, ODBC, ACE/Jet for files)
        // "aren't supported". The docs do not say when the MI refuses one; the emulator refuses
        // at creation (the stricter choice) with SQL Server's error for a provider that is not
        // installed, 7403 (severity 16).
        return Err(one(ServerMessage::error(
            7403,
            16,
            format!(
                "The OLE DB provider \"{}\" has not been registered.",
                server.provider
            ),
        )));
    }
    inst.add_linked_server(&server).map_err(one)?;
    Ok(Vec::new())
}

fn add_linked_login(call: &Call<'_>, inst: &mut Instance) -> Result<Vec<Outcome>> {
    const P: &str = "sp_addlinkedsrvlogin";
    let a = bind(
        call,
        P,
        &[
            "rmtsrvname",
            "useself",
            "locallogin",
            "rmtuser",
            "rmtpassword",
        ],
    )
    .map_err(one)?;
    outside_transaction(call, inst, P)?;
    if a[0].is_none() {
        return Err(one(missing(P, "rmtsrvname")));
    }
    let server = server_id(inst, &text(&a[0]).unwrap_or_default())?;
    // @useself is 'TRUE' (the default), 'FALSE' or NULL; NULL connects as FALSE does.
    let use_self = match &a[1] {
        None => true,
        Some(_) => match text(&a[1]).map(|t| t.to_ascii_uppercase()).as_deref() {
            Some("TRUE") => true,
            Some("FALSE") | None => false,
            Some(_) => return Err(invalid_option(P)),
        },
    };
    // A Managed Instance has no Windows logins (CREATE LOGIN … FROM WINDOWS is refused), so
    // no mapping can pass Windows credentials through; @useself = TRUE there means SQL or
    // Microsoft Entra pass-through, which the MI supports ("Linked servers on Azure SQL
    // Managed Instance support SQL authentication and Azure AD authentication").
    let local = match text(&a[2]) {
        Some(login) => login_id(inst, &login)?,
        None => 0,
    };
    inst.set_linked_login(
        server,
        local,
        use_self,
        text(&a[3]).as_deref(),
        text(&a[4]).as_deref(),
    )
    .map_err(one)?;
    Ok(Vec::new())
}

fn drop_linked_login(call: &Call<'_>, inst: &mut Instance) -> Result<Vec<Outcome>> {
    const P: &str = "sp_droplinkedsrvlogin";
    let a = bind(call, P, &["rmtsrvname", "locallogin"]).map_err(one)?;
    outside_transaction(call, inst, P)?;
    for (i, param) in ["rmtsrvname", "locallogin"].iter().enumerate() {
        if a[i].is_none() {
            return Err(one(missing(P, param)));
        }
    }
    let name = text(&a[0]).unwrap_or_default();
    let server = server_id(inst, &name)?;
    let login = text(&a[1]);
    let local = match &login {
        Some(l) => login_id(inst, l)?,
        None => 0,
    };
    if !inst.forget_linked_login(server, local).map_err(one)? {
        // "A mapping for locallogin to rmtsrvname must already exist." The page names no
        // error; 15185 (severity 16) is SQL Server's message for a missing remote-user
        // mapping, used here as the closest real one.
        return Err(one(ServerMessage::error(
            15185,
            16,
            format!(
                "There is no remote user '(null)' mapped to local user '{}' from the remote server '{name}'.",
                login.as_deref().unwrap_or("(null)")
            ),
        )));
    }
    Ok(Vec::new())
}

/// The options of "sp_serveroption (Transact-SQL)" and the `sys.servers` bit each sets.
const FLAGS: &[(&str, &str)] = &[
    ("collation compatible", "is_collation_compatible"),
    ("data access", "is_data_access_enabled"),
    ("dist", "is_distributor"),
    ("lazy schema validation", "lazy_schema_validation"),
    ("pub", "is_publisher"),
    ("rpc", "is_remote_login_enabled"),
    ("rpc out", "is_rpc_out_enabled"),
    ("sub", "is_subscriber"),
    ("system", "is_system"),
    ("use remote collation", "uses_remote_collation"),
    (
        "remote proc transaction promotion",
        "is_remote_proc_transaction_promotion_enabled",
    ),
];

fn server_option(call: &Call<'_>, inst: &mut Instance) -> Result<Vec<Outcome>> {
    const P: &str = "sp_serveroption";
    let a = bind(call, P, &["server", "optname", "optvalue"]).map_err(one)?;
    for (i, param) in ["server", "optname", "optvalue"].iter().enumerate() {
        if a[i].is_none() {
            return Err(one(missing(P, param)));
        }
    }
    let server = server_id(inst, &text(&a[0]).unwrap_or_default())?;
    let optname = text(&a[1]).unwrap_or_default();
    let value = text(&a[2]);
    let key = optname.trim().to_ascii_lowercase();
    let flag = |v: &Option<String>| match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("true" | "on") => Ok(true),
        Some("false" | "off") => Ok(false),
        _ => Err(invalid_option(P)),
    };
    let option = if let Some((_, column)) = FLAGS.iter().find(|(n, _)| *n == key) {
        ServerOption::Flag(column, flag(&value)?)
    } else if key == "connect timeout" || key == "query timeout" {
        let seconds = value
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|s| (0..=i64::from(i32::MAX)).contains(s))
            .ok_or_else(|| invalid_option(P))?;
        let column = if key == "connect timeout" {
            "connect_timeout"
        } else {
            "query_timeout"
        };
        ServerOption::Timeout(column, seconds)
    } else if key == "collation name" {
        ServerOption::Collation(value.filter(|v| !v.eq_ignore_ascii_case("null")))
    } else {
        // SQL Server error 15206 (severity 16).
        return Err(one(ServerMessage::error(
            15206,
            16,
            format!("Invalid Remote Server Option: '{optname}'."),
        )));
    };
    if inst.in_transaction() {
        // The catalog is transactional: a rollback restores the option.
        inst.before_write("main", "sys.servers").map_err(one)?;
    }
    inst.set_server_option(server, &option).map_err(one)?;
    Ok(Vec::new())
}

fn drop_server(call: &Call<'_>, inst: &mut Instance) -> Result<Vec<Outcome>> {
    const P: &str = "sp_dropserver";
    let a = bind(call, P, &["server", "droplogins"]).map_err(one)?;
    outside_transaction(call, inst, P)?;
    if a[0].is_none() {
        return Err(one(missing(P, "server")));
    }
    let name = text(&a[0]).unwrap_or_default();
    let server = server_id(inst, &name)?;
    let drop_logins = match text(&a[1]) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("droplogins") => true,
        Some(_) => return Err(invalid_option(P)),
    };
    if !drop_logins && inst.has_linked_logins(server).map_err(one)? {
        // SQL Server error 15190 (severity 16). sp_addlinkedserver's own default mapping counts,
        // so a plain sp_dropserver of a linked server needs 'droplogins' unless it was removed.
        return Err(one(ServerMessage::error(
            15190,
            16,
            format!("There are still remote logins or linked logins for the server '{name}'."),
        )));
    }
    inst.drop_linked_server(server).map_err(one)?;
    Ok(Vec::new())
}
