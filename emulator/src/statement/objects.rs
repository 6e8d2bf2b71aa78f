//! Schema objects a statement creates, changes or drops in a user database: modules (views,
//! procedures, functions, triggers), table definitions (columns, constraints, indexes),
//! indexes, constraints added by ALTER TABLE, and schemas.

/// `[db.][schema.]name` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    pub db: Option<String>,
    pub schema: Option<String>,
    pub name: String,
}

impl ObjectName {
    /// The name as the client wrote it (for error texts): `schema.name` or `name`.
    pub fn written(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// What a FUNCTION returns decides its type ("sys.objects": FN, IF, TF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    Scalar,
    InlineTable,
    Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    View,
    Procedure,
    Function(FunctionKind),
    Trigger,
}

impl ModuleKind {
    /// The word SQL Server's messages use for it (%S_MSG in 3701).
    pub fn word(self) -> &'static str {
        match self {
            ModuleKind::View => "view",
            ModuleKind::Procedure => "procedure",
            ModuleKind::Function(_) => "function",
            ModuleKind::Trigger => "trigger",
        }
    }
}

/// A DML trigger's table and timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerTarget {
    pub table: ObjectName,
    pub instead_of: bool,
    pub not_for_replication: bool,
}

/// CREATE [OR ALTER] / ALTER of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleDef {
    pub kind: ModuleKind,
    pub name: ObjectName,
    /// CREATE OR ALTER.
    pub or_alter: bool,
    /// ALTER.
    pub alter: bool,
    pub trigger: Option<TriggerTarget>,
    /// The module's text, kept as `sys.sql_modules.definition`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    /// The type's name, lower case, and its arguments (None for `max`).
    pub type_name: String,
    pub args: Vec<Option<i64>>,
    /// NULL / NOT NULL as written (None: not written, which is NULL for a column without a
    /// PRIMARY KEY, "CREATE TABLE": "nullability").
    pub nullable: Option<bool>,
    pub identity: bool,
    pub collation: Option<String>,
    pub computed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyColumn {
    pub name: String,
    pub descending: bool,
}

/// ON DELETE / ON UPDATE ("sys.foreign_keys": 0 NO_ACTION, 1 CASCADE, 2 SET_NULL, 3
/// SET_DEFAULT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefAction {
    #[default]
    NoAction,
    Cascade,
    SetNull,
    SetDefault,
}

impl RefAction {
    pub fn code(self) -> i64 {
        self as i64
    }
    pub fn desc(self) -> &'static str {
        match self {
            RefAction::NoAction => "NO_ACTION",
            RefAction::Cascade => "CASCADE",
            RefAction::SetNull => "SET_NULL",
            RefAction::SetDefault => "SET_DEFAULT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    Key {
        primary: bool,
        /// CLUSTERED (true) / NONCLUSTERED (false) as written.
        clustered: Option<bool>,
        columns: Vec<KeyColumn>,
    },
    Foreign {
        columns: Vec<String>,
        table: ObjectName,
        /// Empty: the referenced table's primary key.
        ref_columns: Vec<String>,
        on_delete: RefAction,
        on_update: RefAction,
        not_for_replication: bool,
    },
    Check {
        definition: String,
        not_for_replication: bool,
    },
    Default {
        column: String,
        definition: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintDef {
    pub name: Option<String>,
    pub kind: ConstraintKind,
    /// The column a column constraint was written on.
    pub column: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub unique: bool,
    pub clustered: bool,
    pub columns: Vec<KeyColumn>,
    pub include: Vec<String>,
    pub filter: Option<String>,
}

/// What CREATE TABLE defines besides the SQLite table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableDef {
    pub columns: Vec<ColumnDef>,
    pub constraints: Vec<ConstraintDef>,
    /// INDEX definitions inside CREATE TABLE.
    pub indexes: Vec<IndexDef>,
    pub memory_optimized: bool,
    /// DURABILITY = SCHEMA_ONLY (SCHEMA_AND_DATA otherwise).
    pub schema_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterTable {
    /// `[WITH CHECK | WITH NOCHECK] ADD constraint, …` (None: not written).
    AddConstraints {
        with_check: Option<bool>,
        constraints: Vec<ConstraintDef>,
    },
    /// `[WITH CHECK | WITH NOCHECK] {CHECK | NOCHECK} CONSTRAINT {ALL | name, …}`.
    SetChecked {
        with_check: Option<bool>,
        enable: bool,
        /// None: ALL.
        names: Option<Vec<String>>,
    },
    DropConstraints {
        names: Vec<String>,
        if_exists: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectDdl {
    Module(ModuleDef),
    DropModules {
        kind: ModuleKind,
        names: Vec<ObjectName>,
        if_exists: bool,
    },
    CreateIndex {
        table: ObjectName,
        index: IndexDef,
    },
    DropIndexes {
        /// (index, table)
        items: Vec<(String, ObjectName)>,
        if_exists: bool,
    },
    AlterTable {
        table: ObjectName,
        change: AlterTable,
    },
    CreateSchema {
        name: String,
        owner: Option<String>,
    },
    DropSchema {
        name: String,
        if_exists: bool,
    },
}
