"""The Database Migration Service flow through Microsoft's own Python SDK (azure-mgmt-datamigration,
pinned in requirements.txt), against the emulated ARM front end over HTTPS.

Run by emulator/tests/arm_sdk_dms.rs with one argument, a JSON file naming the endpoint, the token,
the CA to trust and the prepared blob container. Every answer is deserialized into the SDK's typed
models and serialized back: a field of the answer the model drops (does not know), an
`additional_properties` that is not empty, or a reply the SDK cannot read fails the run.
"""

import json
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.mgmt.datamigration import DataMigrationManagementClient, models

DEADLINE_SECONDS = 120


class StaticToken:
    """A token credential without azure-identity: the emulator accepts one fixed token."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self._token, int(time.time()) + 3600)


def raw(pipeline_response, deserialized, headers):
    """`cls` for a call: the answer's JSON and the typed model."""
    return pipeline_response.http_response.json(), deserialized


def no_extra_properties(model, path):
    """Fails if any model in the tree kept fields it does not know in `additional_properties`."""
    if isinstance(model, list):
        for i, m in enumerate(model):
            no_extra_properties(m, f"{path}[{i}]")
        return
    if not hasattr(model, "_attribute_map"):
        return
    extra = getattr(model, "additional_properties", None)
    assert not extra, f"{path}: fields the model does not know: {extra}"
    for name in model._attribute_map:
        if name != "additional_properties":
            no_extra_properties(getattr(model, name, None), f"{path}.{name}")


def covered(answer, back, path):
    """Fails unless every field of `answer` is in `back` (the model serialized again)."""
    if isinstance(answer, dict):
        assert isinstance(back, dict), f"{path}: {answer!r} became {back!r}"
        for k, v in answer.items():
            if v is None:
                continue
            assert k in back, f"{path}.{k}: the model dropped it ({v!r})"
            covered(v, back[k], f"{path}.{k}")
    elif isinstance(answer, list):
        assert isinstance(back, list) and len(back) == len(answer), f"{path}: {answer!r} became {back!r}"
        for i, (a, b) in enumerate(zip(answer, back)):
            covered(a, b, f"{path}[{i}]")


def lossless(pair, what):
    answer, model = pair
    assert model is not None, f"{what}: no model"
    no_extra_properties(model, what)
    covered(answer, model.serialize(keep_readonly=True), what)
    return model


def main(config_path):
    with open(config_path) as f:
        c = json.load(f)
    client = DataMigrationManagementClient(
        StaticToken(c["token"]),
        c["subscription"],
        base_url=c["endpoint"],
        connection_verify=c["ca"],
    )
    rg, mi, db = c["resource_group"], c["instance"], c["db"]

    service = client.sql_migration_services.begin_create_or_update(
        rg, "dms1", models.SqlMigrationService(location=c["location"], tags={"team": "ferry"})
    ).result()
    assert service.provisioning_state == "Succeeded", service
    service = lossless(client.sql_migration_services.get(rg, "dms1", cls=raw), "service")
    assert service.integration_runtime_state == "NeedRegistration", service
    keys = lossless(client.sql_migration_services.list_auth_keys(rg, "dms1", cls=raw), "authKeys")
    assert keys.auth_key1 and keys.auth_key2
    regen = lossless(
        client.sql_migration_services.regenerate_auth_keys(
            rg, "dms1", models.RegenAuthKeys(key_name="authKey2"), cls=raw
        ),
        "regenerateAuthKeys",
    )
    assert regen.auth_key2 != keys.auth_key2 and regen.auth_key1 == keys.auth_key1
    lossless(client.sql_migration_services.list_monitoring_data(rg, "dms1", cls=raw), "monitoringData")
    updated = client.sql_migration_services.begin_update(
        rg, "dms1", models.SqlMigrationServiceUpdate(tags={"team": "migration"})
    ).result()
    assert updated.tags == {"team": "migration"}, updated

    props = models.DatabaseMigrationPropertiesSqlMi(
        scope=c["scope"],
        migration_service=service.id,
        source_database_name=db,
        source_sql_connection=models.SqlConnectionInformation(
            data_source="SRC", authentication="SqlAuthentication", user_name="sa", password="Src#Pa55",
            encrypt_connection=True, trust_server_certificate=True,
        ),
        backup_configuration=models.BackupConfiguration(
            source_location=models.SourceLocation(
                azure_blob=models.AzureBlob(
                    storage_account_resource_id=c["account_id"], account_key=c["account_key"],
                    blob_container_name=c["container"], auth_type="AccountKey",
                )
            )
        ),
        offline_configuration=models.OfflineConfiguration(offline=False),
    )
    started = client.database_migrations_sql_mi.begin_create_or_update(
        rg, mi, db, models.DatabaseMigrationSqlMi(properties=props)
    ).result()
    op = started.properties.migration_operation_id
    assert started.properties.provisioning_state == "Succeeded", started

    def poll(until):
        deadline = time.time() + DEADLINE_SECONDS
        while True:
            m = lossless(
                client.database_migrations_sql_mi.get(
                    rg, mi, db, expand="MigrationStatusDetails", migration_operation_id=op, cls=raw
                ),
                "databaseMigration",
            )
            if m.properties.migration_status in until:
                return m
            assert time.time() < deadline, f"stuck at {m.properties.migration_status}"
            time.sleep(0.2)

    ready = poll({"ReadyForCutover"})
    details = ready.properties.migration_status_details
    assert details.is_full_backup_restored and details.pending_log_backups_count == 0, details
    files = [f.status for s in details.active_backup_sets for f in s.list_of_backup_files]
    assert files and all(s == "Restored" for s in files), files
    print("ready for cutover with", len(files), "files restored")

    try:
        client.database_migrations_sql_mi.get(rg, mi, db, migration_operation_id="00000000-0000-0000-0000-000000000000")
        raise AssertionError("a stale operation id was answered")
    except HttpResponseError as e:
        assert e.error.code == "OperationIdNotFound", e
    try:
        client.sql_migration_services.begin_delete(rg, "dms1").result()
        raise AssertionError("a service with a running migration was deleted")
    except HttpResponseError as e:
        assert e.error.code == "DeleteServiceNotAllowed", e

    client.database_migrations_sql_mi.begin_cutover(
        rg, mi, db, models.MigrationOperationInput(migration_operation_id=op)
    ).result()
    done = poll({"Succeeded", "Failed"})
    assert done.properties.migration_status == "Succeeded", done.properties.migration_failure_error
    migrations = list(client.sql_migration_services.list_migrations(rg, "dms1"))
    assert [m.name for m in migrations] == [db], migrations
    no_extra_properties(migrations, "listMigrations")
    listed = list(client.sql_migration_services.list_by_resource_group(rg))
    assert [s.name for s in listed] == ["dms1"], listed
    client.sql_migration_services.begin_delete(rg, "dms1").result()
    print("CONFORMANT")


if __name__ == "__main__":
    main(sys.argv[1])
