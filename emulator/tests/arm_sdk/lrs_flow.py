"""The Log Replay Service flow, and a TDE certificate upload, through Microsoft's own Python SDK (azure-mgmt-sql, pinned in
requirements.txt), against the emulated ARM front end over HTTPS.

Run by emulator/tests/arm_sdk.rs with one argument, a JSON file naming the endpoint, the token,
the CA to trust and the prepared folders. Every answer is read through the SDK's typed models,
and every field is checked against the type the model declares: a field the SDK cannot
deserialize, a field of the wrong type, or a field the model does not know fails the run.
"""

import datetime
import enum
import json
import sys
import time
import typing
import urllib.request

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.sql import SqlManagementClient, models
from azure.mgmt.sql._utils.model_base import Model as SdkModel

DEADLINE_SECONDS = 120


class StaticToken:
    """A token credential without azure-identity: the emulator accepts one fixed token."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self._token, int(time.time()) + 3600)


def hints_of(cls):
    module = sys.modules[cls.__module__]
    names = {**vars(module), "_models": models, "datetime": datetime}
    return typing.get_type_hints(cls, globalns=names)


def first_that_passes(check, options, value, path):
    """Runs `check` with each option in turn; fails when none passes."""
    failures = []
    for option in options:
        try:
            return check(value, option, path)
        except AssertionError as e:
            failures.append(str(e))
    raise AssertionError(f"{path}: {value!r} is none of {options}: {failures}")


def check_value(value, annotation, path):
    """Fails unless `value` is what `annotation` (a model field's type) says."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any:
        return
    if origin is typing.Union:
        if value is None and type(None) in args:
            return
        return first_that_passes(check_value, [a for a in args if a is not type(None)], value, path)
    if origin is typing.Literal:
        assert value in args, f"{path}: {value!r} is not one of {args}"
        return
    if origin is list:
        assert isinstance(value, list), f"{path}: {value!r} is not a list"
        for i, item in enumerate(value):
            check_value(item, args[0], f"{path}[{i}]")
        return
    if origin is dict:
        assert isinstance(value, dict), f"{path}: {value!r} is not a dict"
        for k, item in value.items():
            check_value(item, args[1], f"{path}[{k!r}]")
        return
    if annotation is bool:
        assert isinstance(value, bool), f"{path}: {value!r} is not a bool"
    elif annotation is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r} is not an int"
    elif annotation is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}: {value!r} is not a number"
    elif annotation is str:
        assert isinstance(value, str), f"{path}: {value!r} is not a string"
    elif annotation is datetime.datetime:
        assert isinstance(value, datetime.datetime), f"{path}: {value!r} is not a date-time"
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        assert isinstance(value, (str, annotation)), f"{path}: {value!r} is not a {annotation.__name__}"
    elif isinstance(annotation, type) and issubclass(annotation, SdkModel):
        assert isinstance(value, annotation), f"{path}: {value!r} is not a {annotation.__name__}"
        check_model(value, path)
    else:
        raise AssertionError(f"{path}: no check for {annotation!r}")


def check_json(raw, annotation, path):
    """Fails unless the JSON value `raw` has the JSON type `annotation` asks for: the SDK
    converts some values on reading (a string "2" into an int), so the answer itself is
    checked too."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any or raw is None:
        return
    if origin is typing.Union:
        return first_that_passes(check_json, [a for a in args if a is not type(None)], raw, path)
    if origin is list:
        assert isinstance(raw, list), f"{path}: JSON {raw!r} is not an array"
        for i, item in enumerate(raw):
            check_json(item, args[0], f"{path}[{i}]")
        return
    expected = {
        bool: bool,
        int: int,
        float: (int, float),
        str: str,
        datetime.datetime: str,
    }.get(annotation)
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, SdkModel)):
        # An object; the SDK keeps a nested model it has read in place of its JSON object,
        # whose own fields check_model reads when it recurses.
        expected = (dict, SdkModel)
    elif origin is typing.Literal or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        expected = (str, int)
    assert expected is not None, f"{path}: no JSON check for {annotation!r}"
    assert isinstance(raw, expected) and (annotation is bool or not isinstance(raw, bool)), (
        f"{path}: JSON {raw!r} is not a {annotation}"
    )


def check_model(model, path):
    """Reads every field of `model` through the SDK and checks its type, and the type of the
    JSON it came from; fails on a field of the answer that the model does not declare."""
    cls = type(model)
    fields = cls._attr_to_rest_field
    known = {f._rest_name for f in fields.values()}
    unknown = set(model.keys()) - known
    assert not unknown, f"{path}: fields {cls.__name__} does not declare: {sorted(unknown)}"
    hints = hints_of(cls)
    for attr, field in fields.items():
        check_json(model._data.get(field._rest_name), hints[attr], f"{path}.{field._rest_name}")
        check_value(getattr(model, attr), hints[attr], f"{path}.{attr}")


def wait_for(what, probe):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        value = probe()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def details(client, c, db):
    rd = client.managed_database_restore_details.get(c["resource_group"], c["instance"], db, "Default")
    check_model(rd, f"restoreDetails({db})")
    return rd


def error_code(call):
    """The ARM error code `call` fails with."""
    try:
        call()
    except HttpResponseError as e:
        assert e.error is not None, f"an error without ARM's shape: {e}"
        return e.error.code
    raise AssertionError("the call succeeded")


def copy_blob(source_url, target_url):
    data = urllib.request.urlopen(source_url).read()
    request = urllib.request.Request(
        target_url,
        data=data,
        method="PUT",
        headers={"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-12-02"},
    )
    urllib.request.urlopen(request).read()


def start(client, c, db, folder, sas):
    props = models.ManagedDatabaseProperties(
        create_mode="RestoreExternalBackup",
        collation="SQL_Latin1_General_CP1_CI_AS",
        storage_container_uri=folder,
        storage_container_identity="SharedAccessSignature",
        storage_container_sas_token=sas,
        auto_complete_restore=False,
    )
    poller = client.managed_databases.begin_create_or_update(
        c["resource_group"], c["instance"], db, models.ManagedDatabase(location=c["location"], properties=props)
    )
    database = poller.result(timeout=DEADLINE_SECONDS)
    check_model(database, f"database({db})")
    assert database.properties.status == "Restoring", database
    return database


def main(config_path):
    with open(config_path) as f:
        c = json.load(f)
    client = SqlManagementClient(
        StaticToken(c["token"]),
        c["subscription"],
        base_url=c["endpoint"],
        connection_verify=c["ca"],
    )
    rg, mi = c["resource_group"], c["instance"]

    for listing in (client.managed_instances.list_by_resource_group(rg), client.managed_instances.list()):
        instances = list(listing)
        for i, instance in enumerate(instances):
            check_model(instance, f"managedInstances[{i}]")
        assert [i.name for i in instances] == [mi], instances
        # The tier and size a migration tool sizes its checks by, through the SDK's Sku model.
        assert instances[0].sku.tier == "GeneralPurpose", instances[0].sku
        assert instances[0].v_cores == 8 and instances[0].storage_size_in_gb == 32, instances[0]
    print("listed", mi)

    # Continuous mode: start, follow restoreDetails until the log is restored, cut over.
    good = c["good"]
    start(client, c, good["db"], good["folder"], good["sas"])
    rd = wait_for(
        "the log to be restored",
        lambda: (lambda d: d if d.last_restored_file_name == good["last"] else None)(details(client, c, good["db"])),
    )
    assert rd.status == "Restoring", rd
    # `type` of the result is the resource type; the restore type is the property.
    assert rd.properties.type == "LRSRestore", rd
    assert rd.number_of_files_detected == 2 and rd.number_of_files_restored == 2, rd
    assert isinstance(rd.last_restored_file_time, datetime.datetime), rd
    assert [s.status for s in rd.full_backup_sets] == ["Restored"], rd
    assert isinstance(rd.full_backup_sets[0].restore_finished_timestamp_utc, datetime.datetime), rd
    assert [s.first_stripe_name for s in rd.log_backup_sets] == [good["last"]], rd
    print("restoring", rd.last_restored_file_name, rd.percent_completed)
    client.managed_databases.begin_complete_restore(
        rg, mi, good["db"], models.CompleteDatabaseRestoreDefinition(last_backup_name=good["last"])
    ).result(timeout=DEADLINE_SECONDS)
    database = client.managed_databases.get(rg, mi, good["db"])
    check_model(database, "database(after cutover)")
    assert database.properties.status == "Online", database
    code = error_code(lambda: details(client, c, good["db"]))
    assert code == "RestoreDetailsNotAvailableOrExpired", code
    print("online", good["db"])

    # A folder with a file that is not a backup, then a log that leaves a gap: the job shows
    # the file as unrestorable, then fails with its documented code; deleting stops it.
    broken = c["broken"]
    start(client, c, broken["db"], broken["folder"], broken["sas"])
    rd = wait_for(
        "the first log to be restored",
        lambda: (lambda d: d if d.last_restored_file_name == broken["last"] else None)(details(client, c, broken["db"])),
    )
    assert [f.name for f in rd.unrestorable_files] == [broken["unrestorable"]], rd
    assert rd.number_of_files_unrestorable == 1, rd
    copy_blob(broken["copy_from"], broken["copy_to"])

    def failure():
        try:
            details(client, c, broken["db"])
            return None
        except HttpResponseError as e:
            return e.error.code

    code = wait_for("the job to fail", failure)
    assert code == "BrokenRestorePlanGapInLogBackups", code
    print("failed", code)
    client.managed_databases.begin_delete(rg, mi, broken["db"]).result(timeout=DEADLINE_SECONDS)
    try:
        client.managed_databases.get(rg, mi, broken["db"])
        raise AssertionError("the deleted database is still there")
    except ResourceNotFoundError:
        pass
    print("deleted", broken["db"])

    # A TDE certificate upload (ManagedInstanceTdeCertificates_Create): refusals surface as
    # HttpResponseError with the spec's codes, and the upload runs as a long-running operation
    # to its end.
    tde = c["tde"]

    def upload(blob, password):
        certificate = models.TdeCertificate(private_blob=blob, cert_password=password)
        return client.managed_instance_tde_certificates.begin_create(rg, mi, certificate).result(
            timeout=DEADLINE_SECONDS
        )

    assert error_code(lambda: upload("", tde["password"])) == "MissingPrivateBlob"
    assert error_code(lambda: upload(tde["pfx"], "wrong")) == "InvalidPrivateBlobOrPassword"
    assert upload(tde["pfx"], tde["password"]) is None
    assert error_code(lambda: upload(tde["pfx"], tde["password"])) == "CertificateAlreadyExists"
    print("tde certificate uploaded")
    print("CONFORMANT")


if __name__ == "__main__":
    main(sys.argv[1])
