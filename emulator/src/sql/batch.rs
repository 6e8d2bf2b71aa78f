//! A batch: read whole (statements, control of flow, plans, declared variables), then run
//! statement by statement with T-SQL's error rules ("Database engine error severities",
//! "SET XACT_ABORT"): most errors end their statement and the batch goes on; conversion errors
//! and THROW end the batch; with XACT_ABORT ON any run-time error rolls the transaction back
//! and ends the batch; severity 20 and above ends the connection.

use super::expr::Op;
use super::outcome::Outcome;
use super::plan::{Plan, SetOption, Source, plan};
use super::procedures::{Exec, not_found, parse_declaration, sp_who_columns, sp_who_query};
use super::raise;
use super::scalar::{self, Env, Typed};
use super::script::{self, Node};
use super::session::{SessionOptions, SessionView};
use super::table::table_statement;
use super::variables::{Variables, undeclared};
use crate::instance::{Instance, Report};
use crate::protocol::tokens::{ServerMessage, TransactionChange};
use crate::protocol::types::{self, SqlType, Value};
use crate::syntax::{Token, tokenize};

/// How deep EXEC may nest batches: SQL Server's nesting limit (error 217).
const MAX_NESTING: u8 = 32;

/// Runs a batch. A syntax error or an undeclared variable anywhere stops the whole batch
/// before any statement runs, as SQL Server compiles a batch before executing it.
pub fn execute_batch(sql: &str, s: &SessionView<'_>, inst: &mut Instance) -> Vec<Outcome> {
    let mut run = Run {
        base: s,
        database: s.database.to_owned(),
        vars: s.vars.clone(),
        options: s.options,
        depth: 0,
        out: Vec::new(),
        text: String::new(),
    };
    inst.set_current_session(Some(s.spid));
    run.batch(sql, inst);
    inst.set_current_session(None);
    if run.options != s.options {
        run.out.push(Outcome::Options(run.options));
    }
    run.out
}

/// A statement tree with every statement planned.
enum Step<'t> {
    Do(&'t [Token], Plan<'t>),
    If {
        condition: Source<'t>,
        then: Box<Step<'t>>,
        otherwise: Option<Box<Step<'t>>>,
    },
    Block(Vec<Step<'t>>),
}

fn plan_node<'t>(n: &Node<'t>) -> Result<Step<'t>, ServerMessage> {
    Ok(match n {
        Node::Statement(t) => Step::Do(t, plan(t)?),
        Node::If {
            condition,
            then,
            otherwise,
        } => {
            let (expr, rest) = super::expr::parse_expr(condition)?;
            if !rest.is_empty() {
                return Err(crate::syntax::near(rest));
            }
            Step::If {
                condition: Source {
                    tokens: condition,
                    expr,
                },
                then: Box::new(plan_node(then)?),
                otherwise: otherwise
                    .as_deref()
                    .map(plan_node)
                    .transpose()?
                    .map(Box::new),
            }
        }
        Node::Block(nodes) => Step::Block(nodes.iter().map(plan_node).collect::<Result<_, _>>()?),
    })
}

/// SQL Server resolves variables when it compiles the batch: one used before its DECLARE (or
/// never declared) is error 137 and nothing runs. `@name =` in an EXEC names a parameter.
fn check_variables(step: &Step<'_>, declared: &mut Vec<String>) -> Result<(), ServerMessage> {
    let check = |t: &[Token], declared: &Vec<String>, exec: bool| {
        for (i, x) in t.iter().enumerate() {
            if let Token::Var(v) = x {
                let names_parameter =
                    exec && i > 1 && t.get(i + 1).is_some_and(|n| n.is_punct("="));
                if !names_parameter && !declared.iter().any(|d| d.eq_ignore_ascii_case(v)) {
                    return Err(undeclared(v));
                }
            }
        }
        Ok(())
    };
    match step {
        Step::Do(_, Plan::Declare(list)) => {
            for (name, _, init) in list {
                if let Some(init) = init {
                    check(init.tokens, declared, false)?;
                }
                declared.push((*name).to_owned());
            }
        }
        // A trigger's body is its own module, compiled on its own: its variables are its own.
        Step::Do(_, Plan::ServerObject(_) | Plan::Objects(_)) => {}
        Step::Do(t, plan) => check(t, declared, matches!(plan, Plan::Exec(_)))?,
        Step::If {
            condition,
            then,
            otherwise,
        } => {
            check(condition.tokens, declared, false)?;
            check_variables(then, declared)?;
            if let Some(o) = otherwise {
                check_variables(o, declared)?;
            }
        }
        Step::Block(steps) => {
            for s in steps {
                check_variables(s, declared)?;
            }
        }
    }
    Ok(())
}

/// What running a statement leaves the batch to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    /// The batch ends (THROW, a batch-ending error, RETURN).
    Stop,
    /// The connection ends.
    Terminate,
}

/// Errors that end the batch, not just their statement: conversion failures.
fn ends_batch(number: i32) -> bool {
    matches!(number, 241 | 245)
}

struct Run<'a> {
    base: &'a SessionView<'a>,
    database: String,
    vars: Variables,
    options: SessionOptions,
    depth: u8,
    out: Vec<Outcome>,
    /// The batch's text: a CREATE TRIGGER's definition.
    text: String,
}

impl Run<'_> {
    fn view(&self) -> SessionView<'_> {
        SessionView {
            personality: self.base.personality,
            database: &self.database,
            spid: self.base.spid,
            user: self.base.user,
            vars: &self.vars,
            options: self.options,
        }
    }

    fn spid(&self) -> u16 {
        self.base.spid
    }

    /// Reads and runs `sql`; a reading error is this batch's only outcome.
    fn batch(&mut self, sql: &str, inst: &mut Instance) -> Flow {
        let tokens = match tokenize(sql) {
            Ok(t) => t,
            Err((number, text)) => {
                self.out
                    .push(Outcome::Error(ServerMessage::error(number, 15, text)));
                return Flow::Next;
            }
        };
        let steps = script::parse(&tokens)
            .and_then(|nodes| nodes.iter().map(plan_node).collect::<Result<Vec<_>, _>>())
            .and_then(|steps| {
                let mut declared: Vec<String> = self.vars.iter().map(|v| v.name.clone()).collect();
                for s in &steps {
                    check_variables(s, &mut declared)?;
                }
                Ok(steps)
            });
        let steps = match steps {
            Ok(s) => s,
            Err(e) => {
                self.out.push(Outcome::Error(e));
                return Flow::Next;
            }
        };
        let module_not_first = steps
            .iter()
            .skip(1)
            .any(|s| matches!(s, Step::Do(_, Plan::ServerObject(d)) if d.starts_batch()));
        if module_not_first {
            self.out
                .push(Outcome::Error(super::server_ddl::not_first_in_batch()));
            return Flow::Next;
        }
        if let Some(Step::Do(_, Plan::Objects(d))) = steps.iter().skip(1).find(
            |s| matches!(s, Step::Do(_, Plan::Objects(d)) if super::objects_ddl::starts_batch(d)),
        ) {
            self.out
                .push(Outcome::Error(super::objects_ddl::not_first_in_batch(d)));
            return Flow::Next;
        }
        sql.clone_into(&mut self.text);
        for step in &steps {
            match self.step(step, inst) {
                Flow::Next => {}
                Flow::Stop => return Flow::Next,
                Flow::Terminate => return Flow::Terminate,
            }
        }
        Flow::Next
    }

    fn step(&mut self, step: &Step<'_>, inst: &mut Instance) -> Flow {
        match step {
            Step::Do(_, p) => self.statement(p, inst),
            Step::If {
                condition,
                then,
                otherwise,
            } => match self.condition(condition, inst) {
                Ok(true) => self.step(then, inst),
                Ok(false) => match otherwise {
                    Some(o) => self.step(o, inst),
                    None => Flow::Next,
                },
                Err(e) => self.failed(vec![e], inst),
            },
            Step::Block(steps) => {
                for s in steps {
                    let flow = self.step(s, inst);
                    if flow != Flow::Next {
                        return flow;
                    }
                }
                Flow::Next
            }
        }
    }

    /// A statement's error: reported, and the batch goes on or stops by T-SQL's rules.
    fn failed(&mut self, errors: Vec<ServerMessage>, inst: &mut Instance) -> Flow {
        let number = errors.first().map_or(0, |e| e.number);
        self.vars.error = number;
        // XACT_ABORT: the transaction is rolled back (its ENVCHANGE comes before the error's
        // DONE, which ends the batch).
        let abort = self.options.xact_abort;
        if abort {
            self.roll_back_all(inst);
        }
        self.out.push(if errors.len() == 1 {
            Outcome::Error(
                errors
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| ServerMessage::error(0, 16, "")),
            )
        } else {
            Outcome::Errors(errors)
        });
        if abort || ends_batch(number) {
            Flow::Stop
        } else {
            Flow::Next
        }
    }

    fn roll_back_all(&mut self, inst: &mut Instance) {
        if let Ok(Some(d)) = inst.rollback_transaction(self.spid(), None) {
            self.out
                .push(Outcome::Transaction(TransactionChange::RolledBack, d));
        }
    }

    /// Evaluates an expression: in Rust, or through SQLite when it has a subquery.
    fn value(&self, src: &Source<'_>, inst: &mut Instance) -> Result<Typed, ServerMessage> {
        if !src.needs_tables() {
            let view = self.view();
            return scalar::value(&src.expr, &Env { s: &view, inst });
        }
        let mut query = vec![Token::Word("SELECT".into())];
        query.extend(src.tokens.iter().cloned());
        self.scalar_query(&query, inst)
    }

    fn scalar_query(&self, query: &[Token], inst: &mut Instance) -> Result<Typed, ServerMessage> {
        let view = self.view();
        match table_statement(query, true, &view, inst)? {
            Outcome::Rows { columns, rows } => {
                let ty = columns.first().map_or(SqlType::Int, |c| c.ty);
                let v = rows
                    .into_iter()
                    .next()
                    .and_then(|r| r.into_iter().next())
                    .unwrap_or(Value::Null);
                Ok((ty, v))
            }
            _ => Ok((SqlType::Int, Value::Null)),
        }
    }

    fn condition(&self, src: &Source<'_>, inst: &mut Instance) -> Result<bool, ServerMessage> {
        if !src.needs_tables() {
            let view = self.view();
            return Ok(scalar::condition(&src.expr, &Env { s: &view, inst })? == Some(true));
        }
        let mut query: Vec<Token> = ["SELECT", "CASE", "WHEN"]
            .iter()
            .map(|w| Token::Word((*w).into()))
            .collect();
        query.push(Token::Punct("(".into()));
        query.extend(src.tokens.iter().cloned());
        query.push(Token::Punct(")".into()));
        query.extend(["THEN", "1", "ELSE", "0", "END"].iter().map(|w| match *w {
            "1" | "0" => Token::Number((*w).into()),
            w => Token::Word(w.into()),
        }));
        Ok(types::int(&self.scalar_query(&query, inst)?.1) == 1)
    }

    fn statement(&mut self, p: &Plan<'_>, inst: &mut Instance) -> Flow {
        let before = self.out.len();
        match self.run(p, inst) {
            Ok(flow) => {
                if !matches!(p, Plan::Raise(_)) {
                    self.vars.error = 0;
                }
                self.vars.row_count = self.out[before..]
                    .iter()
                    .map(|o| match o {
                        Outcome::Rows { rows, .. } => rows.len() as u64,
                        Outcome::Done(Some(n)) => *n,
                        _ => 0,
                    })
                    .sum::<u64>()
                    .max(u64::from(matches!(
                        p,
                        Plan::SetVariable(..) | Plan::SelectAssign(_)
                    )));
                flow
            }
            Err(errors) => self.failed(errors, inst),
        }
    }

    fn assign(&mut self, name: &str, v: Typed) -> Result<(), ServerMessage> {
        self.vars.assign(name, v.0, v.1)
    }

    fn run(&mut self, p: &Plan<'_>, inst: &mut Instance) -> Result<Flow, Vec<ServerMessage>> {
        let one = |e: ServerMessage| vec![e];
        let spid = self.spid();
        let in_transaction = inst.transaction_count(spid) > 0;
        let mi = self.base.personality.is_managed_instance();
        // "BEGIN TRANSACTION": these cannot run inside a user transaction (errors 226, 574,
        // 3021 with 3013).
        let refused_in_transaction = match p {
            Plan::CreateDatabase(_) => Some(226),
            Plan::SetRecovery(..)
            | Plan::AddFile(..)
            | Plan::SetEncryption(..)
            | Plan::SetAcceleratedRecovery(..)
            | Plan::SetContainment(..)
            | Plan::QueryStore(..) => Some(226),
            Plan::DropDatabase(_) => Some(574),
            Plan::Backup(_) | Plan::Restore(_) => Some(3021),
            _ => None,
        };
        if in_transaction && let Some(number) = refused_in_transaction {
            return Err(match (number, p) {
                (226, Plan::CreateDatabase(_)) => one(ServerMessage::error(
                    226,
                    16,
                    "CREATE DATABASE statement not allowed within multi-statement transaction.",
                )),
                (226, _) => one(ServerMessage::error(
                    226,
                    16,
                    "ALTER DATABASE statement not allowed within multi-statement transaction.",
                )),
                (574, _) => one(ServerMessage::error(
                    574,
                    16,
                    "DROP DATABASE statement cannot be used inside a user transaction.",
                )),
                _ => {
                    let verb = if matches!(p, Plan::Backup(_)) {
                        "BACKUP DATABASE"
                    } else {
                        "RESTORE DATABASE"
                    };
                    vec![
                        ServerMessage::error(
                            3021,
                            16,
                            "Cannot perform a backup or restore operation within a transaction.",
                        ),
                        ServerMessage::error(
                            3013,
                            16,
                            format!("{verb} is terminating abnormally."),
                        ),
                    ]
                }
            });
        }
        let done = |out: &mut Vec<Outcome>| out.push(Outcome::Done(None));
        match p {
            Plan::Select(list) => {
                let view = self.view();
                let (columns, row) =
                    scalar::select_row(list, &Env { s: &view, inst }).map_err(one)?;
                self.out.push(Outcome::Rows {
                    columns,
                    rows: vec![row],
                });
            }
            Plan::SelectAssign(pairs) => {
                for (var, src) in pairs {
                    let v = self.value(src, inst).map_err(one)?;
                    self.assign(var, v).map_err(one)?;
                }
                done(&mut self.out);
            }
            Plan::SelectAssignFrom(vars, query) => {
                let view = self.view();
                let Outcome::Rows { columns, rows } =
                    table_statement(query, true, &view, inst).map_err(one)?
                else {
                    return Ok(Flow::Next);
                };
                let n = rows.len() as u64;
                // The last row's values are the ones the variables keep.
                if let Some(row) = rows.into_iter().last() {
                    for ((var, col), v) in vars.iter().zip(&columns).zip(row) {
                        self.assign(var, (col.ty, v)).map_err(one)?;
                    }
                }
                self.out.push(Outcome::Done(Some(n)));
            }
            Plan::Use(db) => match inst.database(db) {
                Some(info) => {
                    let new = info.name.clone();
                    let old = std::mem::replace(&mut self.database, new.clone());
                    inst.session_database(spid, &new);
                    self.out.push(Outcome::DatabaseChanged { old, new });
                }
                // SQL Server error 911 (class 16).
                None => {
                    return Err(one(ServerMessage::error(
                        911,
                        16,
                        format!(
                            "Database '{db}' does not exist. Make sure that the name is entered correctly."
                        ),
                    )));
                }
            },
            Plan::Print(src) => {
                let (_, v) = self.value(src, inst).map_err(one)?;
                self.out
                    .push(Outcome::Info(ServerMessage::info(0, types::text(&v))));
                done(&mut self.out);
            }
            Plan::Set(option) => {
                match option {
                    SetOption::XactAbort(on) => self.options.xact_abort = *on,
                    SetOption::NoCount(on) => self.options.nocount = *on,
                    SetOption::Other => {}
                }
                done(&mut self.out);
            }
            Plan::SetVariable(var, op, src) => {
                let v = self.value(src, inst).map_err(one)?;
                let v = match op {
                    None => v,
                    Some(op) => {
                        let current = self
                            .vars
                            .get(var)
                            .map(|x| (x.ty, x.value.clone()))
                            .ok_or_else(|| one(undeclared(var)))?;
                        let op = match *op {
                            "+" => Op::Add,
                            "-" => Op::Sub,
                            "*" => Op::Mul,
                            "/" => Op::Div,
                            _ => Op::Mod,
                        };
                        scalar::arithmetic(current, op, v).map_err(one)?
                    }
                };
                self.assign(var, v).map_err(one)?;
                done(&mut self.out);
            }
            Plan::Declare(list) => {
                for (name, ty, init) in list {
                    self.vars.declare(name, *ty).map_err(one)?;
                    if let Some(init) = init {
                        let v = self.value(init, inst).map_err(one)?;
                        self.assign(name, v).map_err(one)?;
                    }
                }
                done(&mut self.out);
            }
            Plan::Exec(exec) => return self.exec(exec, inst),
            Plan::Table(tokens, returns_rows) => {
                let view = self.view();
                let o = table_statement(tokens, *returns_rows, &view, inst).map_err(one)?;
                self.out.push(o);
            }
            Plan::CreateDatabase(name) => {
                inst.create_database(name).map_err(one)?;
                inst.new_database_query_store(name, self.base.personality)
                    .map_err(one)?;
                done(&mut self.out);
            }
            Plan::DropDatabase(name) => {
                crate::hadr::statements::may_drop_database(inst, name).map_err(one)?;
                inst.drop_database(name).map_err(one)?;
                done(&mut self.out);
            }
            Plan::SetRecovery(name, model) => {
                crate::hadr::statements::may_set_recovery(inst, name, *model).map_err(one)?;
                inst.set_recovery_by_user(name, *model, mi).map_err(one)?;
                done(&mut self.out);
            }
            Plan::Backup(spec) => {
                let view = self.view();
                let r = inst.backup(spec, view.personality, &types::now_text());
                self.report(r)?;
            }
            Plan::Restore(spec) => {
                let r = inst.restore(
                    spec,
                    mi,
                    self.base.user,
                    i64::from(spid),
                    &types::now_text(),
                );
                self.report(r)?;
            }
            Plan::SetEncryption(db, on) => {
                inst.set_encryption(db, *on).map_err(one)?;
                done(&mut self.out);
            }
            Plan::SetAcceleratedRecovery(db, on, filegroup) => {
                inst.set_accelerated_recovery(db, *on, filegroup.as_deref())
                    .map_err(one)?;
                done(&mut self.out);
            }
            Plan::SetContainment(db, partial) => {
                inst.set_containment(db, *partial).map_err(one)?;
                done(&mut self.out);
            }
            Plan::QueryStore(db, change) => {
                super::query_store_ddl::apply(db, change, &self.view(), inst).map_err(one)?;
                done(&mut self.out);
            }
            Plan::AddFile(db, change) => {
                if mi {
                    inst.refuse_on_managed_instance(db, change).map_err(one)?;
                }
                inst.add_file(db, change).map_err(one)?;
                done(&mut self.out);
            }
            Plan::ServerObject(ddl) => {
                let view = self.view();
                let messages =
                    super::server_ddl::apply(ddl, &self.text, &view, inst).map_err(one)?;
                self.out.extend(messages.into_iter().map(Outcome::Info));
                done(&mut self.out);
            }
            Plan::Statistics(st) => {
                let view = self.view();
                super::statistics::apply(st, &view, inst).map_err(one)?;
                done(&mut self.out);
            }
            Plan::CheckDb(c) => {
                let view = self.view();
                let messages = super::maintenance::apply(c, &view, inst).map_err(one)?;
                self.out.extend(messages.into_iter().map(|m| match m.class {
                    0..=10 => Outcome::Info(m),
                    _ => Outcome::Error(m),
                }));
                done(&mut self.out);
            }
            Plan::Objects(ddl) => {
                let view = self.view();
                super::objects_ddl::apply(ddl, &self.text, &view, inst)?;
                done(&mut self.out);
            }
            Plan::Facts(f) => {
                let view = self.view();
                let out = super::facts_ddl::apply(f, &view, &self.database, inst).map_err(one)?;
                self.out.extend(out);
            }
            Plan::Hadr(h) => {
                crate::hadr::statements::apply(h, self.view().personality, inst).map_err(one)?;
                done(&mut self.out);
            }
            Plan::Security(sec) => {
                super::security::apply(sec.clone(), inst, &self.database, self.base.user, mi)
                    .map_err(one)?;
                done(&mut self.out);
            }
            Plan::BeginTran(name) => {
                if let Some(d) = inst.begin_transaction(spid, name.clone()) {
                    self.out
                        .push(Outcome::Transaction(TransactionChange::Began, d));
                }
                done(&mut self.out);
            }
            Plan::Commit => {
                if let Some(d) = inst.commit_transaction(spid, false).map_err(one)? {
                    self.out
                        .push(Outcome::Transaction(TransactionChange::Committed, d));
                }
                done(&mut self.out);
            }
            Plan::Rollback(name) => {
                if let Some(d) = inst
                    .rollback_transaction(spid, name.as_deref())
                    .map_err(one)?
                {
                    self.out
                        .push(Outcome::Transaction(TransactionChange::RolledBack, d));
                }
                done(&mut self.out);
            }
            Plan::Save(name) => {
                inst.save_transaction(spid, name).map_err(one)?;
                done(&mut self.out);
            }
            Plan::Raise(r) => {
                let view = self.view();
                let env = Env { s: &view, inst };
                let eval = |e| scalar::value(e, &env).map(|t| t.1);
                let message = eval(&r.message).map_err(one)?;
                let severity = types::int(&eval(&r.severity).map_err(one)?);
                let state = types::int(&eval(&r.state).map_err(one)?);
                let args = r
                    .args
                    .iter()
                    .map(eval)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(one)?;
                let (m, terminate) = super::system_procs::raise_user_message(
                    inst, &message, severity, state, &args, r.with_log,
                )
                .unwrap_or_else(|| raise::raiserror(&message, severity, state, &args, r.with_log))
                .map_err(one)?;
                self.vars.error = m.number;
                if m.class > 10 {
                    self.out.push(Outcome::Error(m));
                } else {
                    self.out.push(Outcome::Info(m));
                    done(&mut self.out);
                }
                if terminate {
                    self.out.push(Outcome::Terminate);
                    return Ok(Flow::Terminate);
                }
            }
            Plan::Throw([number, message, state]) => {
                let view = self.view();
                let env = Env { s: &view, inst };
                let eval = |e| scalar::value(e, &env).map(|t| t.1);
                let m = raise::throw(
                    &eval(number).map_err(one)?,
                    &eval(message).map_err(one)?,
                    &eval(state).map_err(one)?,
                );
                self.failed(vec![m], inst);
                return Ok(Flow::Stop);
            }
            Plan::Return => {
                done(&mut self.out);
                return Ok(Flow::Stop);
            }
            Plan::Reconfigure(with_override) => {
                super::system_procs::reconfigure(inst, spid, *with_override).map_err(one)?;
                done(&mut self.out);
            }
        }
        Ok(Flow::Next)
    }

    fn report(&mut self, r: Result<Report, Vec<ServerMessage>>) -> Result<(), Vec<ServerMessage>> {
        let rep = r?;
        self.out
            .extend(rep.operation.into_iter().map(Outcome::Operation));
        self.out.extend(rep.messages.into_iter().map(Outcome::Info));
        self.out.push(match rep.rows {
            Some((columns, rows)) => Outcome::Rows { columns, rows },
            None => Outcome::Done(None),
        });
        Ok(())
    }

    /// Runs `text` as a batch of its own with `vars` (EXEC of text, sp_executesql), inside a
    /// procedure's results. The database context it sets does not outlive it.
    fn nested(
        &mut self,
        text: &str,
        vars: Variables,
        inst: &mut Instance,
    ) -> Result<(Vec<Outcome>, Variables, Flow), Vec<ServerMessage>> {
        if self.depth + 1 > MAX_NESTING {
            // SQL Server error 217 (severity 16).
            return Err(vec![ServerMessage::error(
                217,
                16,
                "Maximum stored procedure, function, trigger, or view nesting level exceeded (limit 32).",
            )]);
        }
        let mut inner = Run {
            base: self.base,
            database: self.database.clone(),
            vars,
            options: self.options,
            depth: self.depth + 1,
            out: Vec::new(),
            text: String::new(),
        };
        let flow = inner.batch(text, inst);
        self.options = inner.options;
        if inner.database != self.database {
            inner.out.push(Outcome::DatabaseChanged {
                old: inner.database.clone(),
                new: self.database.clone(),
            });
            inst.session_database(self.spid(), &self.database);
        }
        Ok((inner.out, inner.vars, flow))
    }

    fn exec(&mut self, exec: &Exec<'_>, inst: &mut Instance) -> Result<Flow, Vec<ServerMessage>> {
        let one = |e: ServerMessage| vec![e];
        let trancount = inst.transaction_count(self.spid());
        let (status_var, inner, flow) = match exec {
            Exec::Text(e) => {
                let view = self.view();
                let (_, v) = scalar::value(e, &Env { s: &view, inst }).map_err(one)?;
                let (out, _, flow) = self.nested(&types::text(&v), Variables::default(), inst)?;
                self.out.extend(out);
                return Ok(if flow == Flow::Terminate {
                    flow
                } else {
                    Flow::Next
                });
            }
            Exec::Procedure {
                status,
                name,
                written,
                args,
            } => {
                let view = self.view();
                let env = Env { s: &view, inst };
                let values = args
                    .iter()
                    .map(|a| scalar::value(&a.value, &env))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(one)?;
                match name.to_ascii_lowercase().as_str() {
                    "sp_executesql" => {
                        let (out, flow) = self.executesql(args, values, inst)?;
                        (*status, out, flow)
                    }
                    "sp_who" => {
                        let filter = values.first().map(|v| v.1.clone());
                        // While sp_who runs, the statement its session is running is the
                        // procedure's own SELECT of the session list, as sys.dm_exec_requests
                        // reports a procedure's current statement, not the EXEC.
                        inst.refresh_session_views(self.spid(), "SELECT", &types::now_text())
                            .map_err(one)?;
                        let (sql, params) = sp_who_query(filter.as_ref());
                        let (_, rows) = inst.query(&sql, &params).map_err(one)?;
                        let columns = sp_who_columns();
                        (*status, vec![Outcome::Rows { columns, rows }], Flow::Next)
                    }
                    other => {
                        let view = self.view();
                        let call = super::system_procs::Call {
                            name: other,
                            written,
                            args,
                            values: &values,
                            s: &view,
                        };
                        match super::system_procs::call(&call, inst) {
                            Some(Err(e)) => {
                                // A failed msdb procedure returns 1 (its RETURN(1)).
                                if let Some(var) = status {
                                    self.assign(var, (SqlType::Int, Value::Int(1)))
                                        .map_err(one)?;
                                }
                                return Err(one(e));
                            }
                            Some(Ok(done)) => {
                                for (var, v) in done.outputs {
                                    self.assign(&var, v).map_err(one)?;
                                }
                                (*status, done.out, Flow::Next)
                            }
                            None => match super::procedures::route(other) {
                                Some(handler) => {
                                    let session = self.view();
                                    let call = super::procedures::Call {
                                        args: args
                                            .iter()
                                            .map(|a| a.name)
                                            .zip(values.iter().cloned())
                                            .collect(),
                                        session: &session,
                                    };
                                    // A failed system procedure returns 1 ("Return code
                                    // values: 0 (success) or 1 (failure)").
                                    let out = match handler(&call, inst) {
                                        Ok(out) => out,
                                        Err(e) => {
                                            if let Some(var) = status {
                                                self.assign(var, (SqlType::Int, Value::Int(1)))
                                                    .map_err(one)?;
                                            }
                                            return Err(e);
                                        }
                                    };
                                    (*status, out, Flow::Next)
                                }
                                None => match super::principal_functions::procedure(
                                    other, args, &values, inst,
                                ) {
                                    Some(r) => (*status, r.map_err(one)?, Flow::Next),
                                    None => return Err(one(not_found(written))),
                                },
                            },
                        }
                    }
                }
            }
        };
        self.out.push(Outcome::Procedure(inner, 0));
        if let Some(var) = status_var {
            self.assign(var, (SqlType::Int, Value::Int(0)))
                .map_err(one)?;
        }
        let after = inst.transaction_count(self.spid());
        if after != trancount {
            // SQL Server error 266 (severity 16).
            self.failed(
                vec![ServerMessage::error(
                    266,
                    16,
                    format!("Transaction count after EXECUTE indicates a mismatching number of BEGIN and COMMIT statements. Previous count = {trancount}, current count = {after}."),
                )],
                inst,
            );
        }
        Ok(flow)
    }

    /// sp_executesql: the statement, the parameters it declares, their values by position or
    /// name, and OUTPUT parameters copied back.
    fn executesql(
        &mut self,
        args: &[super::procedures::Arg<'_>],
        values: Vec<Typed>,
        inst: &mut Instance,
    ) -> Result<(Vec<Outcome>, Flow), Vec<ServerMessage>> {
        let one = |e: ServerMessage| vec![e];
        // SQL Server error 214 (severity 16): the statement must be Unicode text.
        let statement = match values.first() {
            Some((SqlType::NVarChar(_), Value::Text(t))) => t.clone(),
            _ => {
                return Err(one(ServerMessage::error(
                    214,
                    16,
                    "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.",
                )));
            }
        };
        let declared = match values.get(1) {
            Some((SqlType::NVarChar(_), Value::Text(t))) => parse_declaration(t).map_err(one)?,
            Some((_, Value::Null)) | None => Vec::new(),
            Some(_) => {
                return Err(one(ServerMessage::error(
                    214,
                    16,
                    "Procedure expects parameter '@params' of type 'ntext/nchar/nvarchar'.",
                )));
            }
        };
        let mut vars = Variables::default();
        for (name, ty, _) in &declared {
            vars.declare(name, *ty).map_err(one)?;
        }
        for (i, (arg, v)) in args.iter().zip(values.iter()).enumerate().skip(2) {
            let target = match arg.name {
                Some(n) => n.to_owned(),
                None => match declared.get(i - 2) {
                    Some((n, _, _)) => n.clone(),
                    // SQL Server error 8144 (severity 16).
                    None => {
                        return Err(one(ServerMessage::error(
                            8144,
                            16,
                            "Procedure or function sp_executesql has too many arguments specified.",
                        )));
                    }
                },
            };
            if vars.get(&target).is_none() {
                // SQL Server error 8145 (severity 16).
                return Err(one(ServerMessage::error(
                    8145,
                    16,
                    format!("@{target} is not a parameter for procedure sp_executesql."),
                )));
            }
            vars.assign(&target, v.0, v.1.clone()).map_err(one)?;
        }
        let (out, inner_vars, flow) = self.nested(&statement, vars, inst)?;
        for arg in args.iter().skip(2) {
            if let (Some(param), Some(outer)) = (arg.name, arg.output)
                && let Some(p) = inner_vars.get(param)
            {
                self.assign(outer, (p.ty, p.value.clone())).map_err(one)?;
            }
        }
        let flow = if flow == Flow::Terminate {
            flow
        } else {
            Flow::Next
        };
        Ok((out, flow))
    }
}
