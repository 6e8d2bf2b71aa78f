//! The catalogs of a small database, the same on whichever server it is put.

use ferry_sdk::SqlValue;

use super::model::Table;
use super::{Server, i, t};

pub const DB: &str = "Sales";

/// A database whose catalogs are the same on any server it is put on: properties, a table,
/// a view, a foreign key, a user with its login, a role member, a permission.
pub fn database() -> Server {
    Server::default()
        .catalog(
            "FROM sys.databases WHERE name = @db",
            &[
                "collation_name",
                "recovery_model_desc",
                "state_desc",
                "is_read_committed_snapshot_on",
                "snapshot_isolation_state_desc",
                "is_broker_enabled",
                "page_verify_option_desc",
                "containment_desc",
                "is_encrypted",
                "is_accelerated_database_recovery_on",
            ],
            vec![vec![
                t("SQL_Latin1_General_CP1_CI_AS"),
                t("FULL"),
                t("ONLINE"),
                i(0),
                t("OFF"),
                i(0),
                t("CHECKSUM"),
                t("NONE"),
                i(0),
                i(1),
            ]],
        )
        .catalog(
            "SELECT compatibility_level FROM sys.databases",
            &["compatibility_level"],
            vec![vec![i(150)]],
        )
        .catalog(
            "MAX(compatibility_level) AS highest",
            &["highest"],
            vec![vec![i(160)]],
        )
        .catalog(
            "sys.objects AS o JOIN",
            &["schema_name", "object_name", "type_desc"],
            vec![
                vec![t("dbo"), t("Orders"), t("USER_TABLE")],
                vec![t("dbo"), t("Customers"), t("USER_TABLE")],
                vec![t("dbo"), t("vOrders"), t("VIEW")],
                vec![
                    t("dbo"),
                    t("FK_Orders_Customers"),
                    t("FOREIGN_KEY_CONSTRAINT"),
                ],
            ],
        )
        .catalog(
            "sys.sql_modules AS m",
            &["schema_name", "object_name", "definition_hash"],
            vec![vec![
                t("dbo"),
                t("vOrders"),
                SqlValue::Binary(vec![0xAB; 32]),
            ]],
        )
        .catalog(
            "sys.indexes AS i",
            &[
                "schema_name",
                "table_name",
                "index_name",
                "type_desc",
                "is_unique",
                "is_primary_key",
                "is_disabled",
                "has_filter",
            ],
            vec![vec![
                t("dbo"),
                t("Orders"),
                t("PK_Orders"),
                t("CLUSTERED"),
                i(1),
                i(1),
                i(0),
                i(0),
            ]],
        )
        .catalog(
            "sys.foreign_keys AS c",
            &[
                "schema_name",
                "table_name",
                "constraint_name",
                "type_desc",
                "is_disabled",
                "is_not_trusted",
            ],
            vec![vec![
                t("dbo"),
                t("Orders"),
                t("FK_Orders_Customers"),
                t("FOREIGN_KEY_CONSTRAINT"),
                i(0),
                i(0),
            ]],
        )
        .catalog(
            "sys.database_principals WHERE",
            &[
                "name",
                "type",
                "type_desc",
                "authentication_type_desc",
                "sid",
            ],
            vec![vec![
                t("app"),
                t("S"),
                t("SQL_USER"),
                t("INSTANCE"),
                SqlValue::Binary(vec![1, 2, 3]),
            ]],
        )
        .catalog(
            "SELECT name, sid FROM master.sys.server_principals",
            &["name", "sid"],
            vec![vec![t("app_login"), SqlValue::Binary(vec![1, 2, 3])]],
        )
        .catalog(
            "sys.database_role_members",
            &["role_name", "member_name"],
            vec![vec![t("db_datareader"), t("app")]],
        )
        .catalog(
            "sys.database_permissions",
            &[
                "class_desc",
                "permission_name",
                "state_desc",
                "grantee",
                "securable",
                "minor_id",
            ],
            vec![vec![
                t("OBJECT_OR_COLUMN"),
                t("SELECT"),
                t("GRANT"),
                t("app"),
                t("dbo.Orders"),
                i(0),
            ]],
        )
        .table(DB, "dbo", "Orders", Table::ints(2000))
}
