//! Database Mail (methods.md §5.8): accounts with their SMTP servers, profiles with their
//! accounts, and which principals may use which profile. An SMTP password is never readable on
//! the source: it comes from the secret the config names (`"mail-account:<name>"`) and goes to
//! the MI only as a sealed parameter. Managed Instance's Agent mails only through a profile
//! named `AzureManagedInstance_dbmail_profile`: when the source's Agent uses another, a copy
//! of it under that name is made too, and the original stays for the code that names it.

mod read;

use std::collections::BTreeSet;

use ferry_sdk::prelude::*;
use ferry_sdk::{Param, Secret};

use super::agent_jobs::MI_MAIL_PROFILE;
use super::principals::{self, Principal};
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::msdb::{Arg, exec, text};
use crate::servers::Servers;
use read::{Account, Mail, Profile};

fn account_statement(proc: &str, a: &Account, password: Option<Secret>) -> Statement {
    let mut args = vec![
        ("account_name", text(&a.name)),
        ("email_address", text(&a.email)),
        ("display_name", text(&a.display_name)),
        ("replyto_address", text(&a.replyto)),
        ("description", text(&a.description)),
    ];
    if let Some(s) = &a.server {
        args.extend([
            ("mailserver_name", text(&s.servername)),
            ("mailserver_type", text(&s.servertype)),
            ("port", Arg::Int(s.port)),
        ]);
        if !s.username.is_empty() {
            args.push(("username", text(&s.username)));
        }
        if password.is_some() {
            // The batch's parameter is not named `@password`: the host writes a sealed value
            // wherever its name stands, and `@password = @password` would put it on both sides.
            args.push(("password", Arg::Param("smtp_password")));
        }
        args.extend([
            (
                "use_default_credentials",
                Arg::Int(i64::from(s.use_default_credentials)),
            ),
            ("enable_ssl", Arg::Int(i64::from(s.enable_ssl))),
        ]);
    }
    let st = Statement::new(exec(proc, &args));
    match password {
        Some(p) => st.with(Param::sealed("smtp_password", p)),
        None => st,
    }
}

/// The account's password, or why the account cannot be made without one.
fn password(
    cx: &mut Context<'_, Config>,
    a: &Account,
) -> Result<std::result::Result<Option<Secret>, Verdict>> {
    if !a.needs_password() {
        return Ok(Ok(None));
    }
    let key = format!("mail-account:{}", a.name);
    match cx.config().secrets.get(&key).cloned() {
        None => Ok(Err(Verdict::Refused {
            code: "secret-missing",
            why: format!(
                "SQL Server never reveals an SMTP password: add `\"{key}\" = \"<secret \
                 label>\"` under `secrets` in the step's config, grant that label, and apply \
                 again"
            ),
        })),
        Some(label) => Ok(Ok(Some(cx.secret(&label)?))),
    }
}

fn account_decision(cx: &mut Context<'_, Config>, a: &Account, dst: &Mail) -> Result<Decision> {
    let existing = dst
        .accounts
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(&a.name));
    if existing.is_some_and(|t| t.fields() == a.fields()) {
        return Ok(Decision::new(
            "database-mail-account",
            &a.name,
            Verdict::Unchanged,
        ));
    }
    let secret = match password(cx, a)? {
        Ok(s) => s,
        Err(v) => return Ok(Decision::new("database-mail-account", &a.name, v)),
    };
    let verdict = match existing {
        None => Verdict::Create(vec![account_statement("sysmail_add_account_sp", a, secret)]),
        Some(_) => Verdict::Conflict {
            differs: "its address, display name, reply-to, description or SMTP server differs"
                .into(),
            replace: vec![account_statement("sysmail_update_account_sp", a, secret)],
        },
    };
    Ok(Decision::new("database-mail-account", &a.name, verdict))
}

/// Makes profile `name` with `src`'s description and accounts.
fn profile_statements(name: &str, p: &Profile, accounts: &[(String, i64)]) -> Vec<Statement> {
    let mut out = vec![Statement::new(exec(
        "sysmail_add_profile_sp",
        &[
            ("profile_name", text(name)),
            ("description", text(&p.description)),
        ],
    ))];
    for (account, seq) in accounts {
        out.push(Statement::new(exec(
            "sysmail_add_profileaccount_sp",
            &[
                ("profile_name", text(name)),
                ("account_name", text(account)),
                ("sequence_number", Arg::Int(*seq)),
            ],
        )));
    }
    out
}

fn lower(v: &[(String, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(n, s)| (n.to_lowercase(), *s)).collect()
}

/// Makes the target profile's account list the source's, in place: dropping the profile would
/// also drop which principals may use it (sysmail_delete_profile_sp), which are decided on
/// their own.
fn relink(profile: &str, have: &[(String, i64)], want: &[(String, i64)]) -> Vec<Statement> {
    let (have_l, want_l) = (lower(have), lower(want));
    let mut out = Vec::new();
    for ((account, _), key) in have.iter().zip(&have_l) {
        if !want_l.contains(key) {
            out.push(Statement::new(exec(
                "sysmail_delete_profileaccount_sp",
                &[
                    ("profile_name", text(profile)),
                    ("account_name", text(account)),
                ],
            )));
        }
    }
    for ((account, seq), key) in want.iter().zip(&want_l) {
        if !have_l.contains(key) {
            out.push(Statement::new(exec(
                "sysmail_add_profileaccount_sp",
                &[
                    ("profile_name", text(profile)),
                    ("account_name", text(account)),
                    ("sequence_number", Arg::Int(*seq)),
                ],
            )));
        }
    }
    out
}

/// The decision for profile `name`, made from the source's profile `p`.
fn profile_decision(
    name: &str,
    p: &Profile,
    src: &Mail,
    dst: &Mail,
    refused: &BTreeSet<String>,
) -> Decision {
    let accounts = src.accounts_of(p.id);
    if let Some((a, _)) = accounts
        .iter()
        .find(|(a, _)| refused.contains(&a.to_lowercase()))
    {
        return Decision::new(
            "database-mail-profile",
            name,
            Verdict::Refused {
                code: "account-not-made",
                why: format!(
                    "its account `{a}` is not made (see that account's row); fix it and apply again"
                ),
            },
        );
    }
    let verdict = match dst.profile_named(name) {
        None => Verdict::Create(profile_statements(name, p, &accounts)),
        Some(t) => {
            let mut what = Vec::new();
            let mut fix = Vec::new();
            if t.description != p.description {
                what.push("its description differs");
                fix.push(Statement::new(exec(
                    "sysmail_update_profile_sp",
                    &[
                        ("profile_name", text(&t.name)),
                        ("description", text(&p.description)),
                    ],
                )));
            }
            let have = dst.accounts_of(t.id);
            if lower(&have) != lower(&accounts) {
                what.push("its accounts or their order differ");
                fix.extend(relink(&t.name, &have, &accounts));
            }
            if what.is_empty() {
                Verdict::Unchanged
            } else {
                Verdict::Conflict {
                    differs: what.join("; "),
                    replace: fix,
                }
            }
        }
    };
    Decision::new("database-mail-profile", name, verdict)
}

/// The name a principal of a profile has on the MI (`public` for SID 0x00); msdb names a
/// principal by its user in msdb, which carries its login's name.
fn principal_name(
    cfg: &Config,
    sid: &[u8],
    ps: &[Principal],
) -> std::result::Result<String, String> {
    if sid == [0] {
        return Ok("public".into());
    }
    let p = ps
        .iter()
        .find(|p| p.sid == sid)
        .ok_or_else(|| "its principal is no login on the source".to_owned())?;
    principals::target_name(cfg, p)
}

fn principal_decisions(
    cfg: &Config,
    src: &Mail,
    dst: &Mail,
    sp: &[Principal],
    dp: &[Principal],
    admitted: &BTreeSet<String>,
) -> Vec<Decision> {
    let mut out = Vec::new();
    for (profile_id, sid, is_default) in &src.principals {
        let Some(profile) = src.profiles.iter().find(|p| p.id == *profile_id) else {
            continue;
        };
        if !admitted.contains(&profile.name.to_lowercase()) {
            continue;
        }
        let name = match principal_name(cfg, sid, sp) {
            Ok(n) => n,
            Err(why) => {
                out.push(Decision::new(
                    "database-mail-principal-profile",
                    format!("{} → SID {}", profile.name, principals::hex_literal(sid)),
                    Verdict::Refused {
                        code: "principal-unmapped",
                        why,
                    },
                ));
                continue;
            }
        };
        let label = format!("{} → {name}", profile.name);
        let existing = dst.profile_named(&profile.name).and_then(|t| {
            dst.principals.iter().find(|(p, s, _)| {
                *p == t.id
                    && principal_name(cfg, s, dp).is_ok_and(|n| n.eq_ignore_ascii_case(&name))
            })
        });
        let args = [
            ("profile_name", text(&profile.name)),
            ("principal_name", text(&name)),
            ("is_default", Arg::Int(i64::from(*is_default))),
        ];
        let verdict = match existing {
            None => Verdict::Create(vec![Statement::new(exec(
                "sysmail_add_principalprofile_sp",
                &args,
            ))]),
            Some((_, _, d)) if d == is_default => Verdict::Unchanged,
            // Dropped and made again: sysmail_delete_principalprofile_sp and
            // sysmail_add_principalprofile_sp together set the default flag.
            Some(_) => Verdict::Conflict {
                differs: "whether it is the principal's default profile differs".into(),
                replace: vec![
                    Statement::new(exec("sysmail_delete_principalprofile_sp", &args[..2])),
                    Statement::new(exec("sysmail_add_principalprofile_sp", &args)),
                ],
            },
        };
        let mut d = Decision::new("database-mail-principal-profile", label, verdict);
        if *sid != [0] {
            d = d.note(format!(
                "the MI needs a user `{name}` in msdb for this association."
            ));
        }
        out.push(d);
    }
    out
}

/// The profile Managed Instance's Agent mails through, copied from the one the source's Agent
/// uses when that has another name.
fn agent_profile(
    cx: &mut Context<'_, Config>,
    s: Servers,
    src: &Mail,
    dst: &Mail,
    refused: &BTreeSet<String>,
) -> Option<Decision> {
    if src.profile_named(MI_MAIL_PROFILE).is_some() {
        return None;
    }
    let agent = match read::agent_profile(cx, s.source) {
        Ok(Some(p)) => p,
        Ok(None) => return None,
        Err(e) => {
            return Some(Decision::new(
                "database-mail-profile",
                MI_MAIL_PROFILE,
                Verdict::Skipped {
                    code: "agent-profile-unknown",
                    why: format!(
                        "the source's SQL Agent mail profile could not be read ({}); Agent on \
                         the MI sends job and operator e-mail only through a Database Mail \
                         profile named {MI_MAIL_PROFILE}: create it with the accounts Agent \
                         should use",
                        e.describe()
                    ),
                },
            ));
        }
    };
    let d = match src.profile_named(&agent) {
        Some(p) => profile_decision(MI_MAIL_PROFILE, p, src, dst, refused).note(format!(
            "a copy of `{}`, the profile the source's SQL Agent mails through: Managed \
             Instance's Agent mails only through a profile named {MI_MAIL_PROFILE}; `{}` is \
             made as well for the code that names it.",
            p.name, p.name
        )),
        None => Decision::new(
            "database-mail-profile",
            MI_MAIL_PROFILE,
            Verdict::Refused {
                code: "agent-profile-missing",
                why: format!(
                    "the source's SQL Agent mails through profile `{agent}`, which msdb does not \
                     have: create {MI_MAIL_PROFILE} on the MI by hand"
                ),
            },
        ),
    };
    Some(d)
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let cfg = cx.config().clone();
    let patterns = cfg.database_mail.patterns();
    let src = read::mail(cx, s.source)?;
    let dst = read::mail(cx, s.target)?;
    let mut out = Vec::new();
    let mut refused = BTreeSet::new();
    // An account left out by `exclude` is not looked at (its secret may not be granted); a
    // profile that uses it then needs it on the MI already.
    for a in src.accounts.iter().filter(|a| patterns.admits(&a.name)) {
        let d = account_decision(cx, a, &dst)?;
        if !d.lands() && !matches!(d.verdict, Verdict::Conflict { .. }) {
            refused.insert(a.name.to_lowercase());
        }
        out.push(d);
    }
    let mut admitted = BTreeSet::new();
    for p in src.profiles.iter().filter(|p| patterns.admits(&p.name)) {
        admitted.insert(p.name.to_lowercase());
        out.push(profile_decision(&p.name, p, &src, &dst, &refused));
    }
    out.extend(agent_profile(cx, s, &src, &dst, &refused));
    if !src.principals.is_empty() {
        let sp = principals::read(cx, s.source)?;
        let dp = principals::read(cx, s.target)?;
        out.extend(principal_decisions(&cfg, &src, &dst, &sp, &dp, &admitted));
    }
    Ok(out)
}
