"""Storage Accounts - Get Properties through Microsoft's own Python SDK (azure-mgmt-storage, pinned
in requirements.txt), against the emulated ARM front end over HTTPS.

Run by emulator/tests/arm_sdk_storage.rs with one argument, a JSON file naming the endpoint, the
token, the CA to trust and the account to read with what it must show. The answer is read into the
SDK's typed model; azure-mgmt-storage's models (generated from TypeSpec) keep the raw JSON, so every
field of the answer must be one the model knows (a rest field of its class, recursively): a field
the model does not know, or an answer the SDK cannot read, fails the run.
"""

import datetime
import json
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.storage import StorageManagementClient


class StaticToken:
    """A token credential without azure-identity: the emulator accepts one fixed token."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self._token, int(time.time()) + 3600)


def raw(pipeline_response, deserialized, headers):
    """`cls` for a call: the answer's JSON and the typed model."""
    return pipeline_response.http_response.json(), deserialized


def known(answer, model, path):
    """Fails unless every field of `answer` is a field `model`'s class knows, all the way down."""
    fields = getattr(type(model), "_attr_to_rest_field", None)
    if fields is None:
        if isinstance(answer, list):
            assert isinstance(model, list), f"{path}: {answer!r} became {model!r}"
            for i, (a, m) in enumerate(zip(answer, model)):
                known(a, m, f"{path}[{i}]")
        return
    assert isinstance(answer, dict), f"{path}: {answer!r} is not an object"
    by_rest = {f._rest_name: attr for attr, f in fields.items()}
    for k, v in answer.items():
        assert k in by_rest, f"{path}.{k}: the model does not know it ({v!r})"
        if isinstance(v, (dict, list)):
            known(v, getattr(model, by_rest[k]), f"{path}.{k}")


def main(config_path):
    with open(config_path) as f:
        c = json.load(f)
    client = StorageManagementClient(
        StaticToken(c["token"]),
        c["subscription"],
        base_url=c["endpoint"],
        connection_verify=c["ca"],
    )
    answer, a = client.storage_accounts.get_properties(c["resource_group"], c["account"], cls=raw)
    known(answer, a, "storageAccount")
    assert a.id == c["account_id"], a.id
    assert a.name == c["account"], a.name
    assert a.type == "Microsoft.Storage/storageAccounts", a.type
    assert a.location == c["location"], a.location
    assert a.kind == c["kind"], a.kind
    assert a.sku.tier == c["tier"], a.sku
    assert a.sku.name == c["tier"] + "_LRS", a.sku
    assert a.properties.primary_endpoints.blob == c["blob"], a.properties.primary_endpoints
    assert a.properties.primary_location == c["location"], a.properties
    assert a.properties.provisioning_state == "Succeeded", a.properties
    assert a.properties.status_of_primary == "available", a.properties
    assert isinstance(a.properties.creation_time, datetime.datetime), a.properties.creation_time

    try:
        client.storage_accounts.get_properties(c["resource_group"], "nosuchaccount")
        raise AssertionError("an unknown account was answered")
    except ResourceNotFoundError as e:
        assert e.error.code == "ResourceNotFound", e.error
    print("CONFORMANT")


if __name__ == "__main__":
    main(sys.argv[1])
