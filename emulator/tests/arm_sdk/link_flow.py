"""The Managed Instance link through Microsoft's own Python SDK (azure-mgmt-sql, pinned in
requirements.txt, api-version 2025-01-01), against the emulated ARM front end over HTTPS.

Run by emulator/tests/arm_sdk_link.rs in two phases, with a JSON file naming the endpoint, the
token, the CA to trust, the source's certificate and the link to make:

- `create`: upload SQL Server's certificate (serverTrustCertificates), read the MI's endpoint
  certificate, create the link (distributedAvailabilityGroups, a long-running operation), follow
  it through seeding to LinkSynchronizing with `get` and `list_by_instance`, and switch it to
  synchronous replication (PATCH);
- `cutover` (after the test switched SQL Server's side to SYNCHRONOUS_COMMIT): a planned
  failover, setRole's documented refusals, a failback by setRole (Secondary, Planned), delete
  of the link and the trust certificate.

Every answer is read through the SDK's typed models and checked field by field
(lrs_flow.check_model): a field the SDK cannot deserialize, of the wrong type, or unknown to
the model fails the run.
"""

import json
import sys

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.sql import SqlManagementClient, models

from lrs_flow import DEADLINE_SECONDS, StaticToken, check_model, error_code, wait_for


def link(client, c):
    dag = client.distributed_availability_groups.get(c["resource_group"], c["instance"], c["dag"])
    check_model(dag, f"distributedAvailabilityGroups/{c['dag']}")
    return dag


def create(client, c):
    rg, mi = c["resource_group"], c["instance"]
    trust = client.server_trust_certificates.begin_create_or_update(
        rg,
        mi,
        c["certificate_name"],
        models.ServerTrustCertificate(
            properties=models.ServerTrustCertificateProperties(public_blob=c["source_blob"])
        ),
    ).result(timeout=DEADLINE_SECONDS)
    check_model(trust, "serverTrustCertificate")
    assert trust.properties.certificate_name == c["certificate_name"], trust
    assert trust.properties.public_blob.upper() == c["source_blob"].upper(), trust
    listed = list(client.server_trust_certificates.list_by_instance(rg, mi))
    for i, t in enumerate(listed):
        check_model(t, f"serverTrustCertificates[{i}]")
    assert [t.name for t in listed] == [c["certificate_name"]], listed
    print("trusted", trust.properties.thumbprint)

    endpoint = client.endpoint_certificates.get(rg, mi, "DATABASE_MIRRORING")
    check_model(endpoint, "endpointCertificates/DATABASE_MIRRORING")
    assert endpoint.properties.public_blob == c["mi_blob"], endpoint
    for i, e in enumerate(client.endpoint_certificates.list_by_instance(rg, mi)):
        check_model(e, f"endpointCertificates[{i}]")
    print("endpoint certificate read")

    properties = models.DistributedAvailabilityGroupProperties(
        partner_availability_group_name=c["partner_ag"],
        partner_endpoint=c["partner_endpoint"],
        instance_availability_group_name=c["instance_ag"],
        instance_link_role="Secondary",
        failover_mode="Manual",
        seeding_mode="Automatic",
        databases=[models.DistributedAvailabilityGroupDatabase(database_name=c["db"])],
    )
    created = client.distributed_availability_groups.begin_create_or_update(
        rg, mi, c["dag"], models.DistributedAvailabilityGroup(properties=properties)
    ).result(timeout=DEADLINE_SECONDS)
    check_model(created, "created link")
    assert created.properties.instance_link_role == "Secondary", created
    assert created.properties.partner_link_role == "Primary", created
    print("created", created.name, created.properties.databases[0].replica_state)

    def synchronizing():
        dag = link(client, c)
        for i, d in enumerate(client.distributed_availability_groups.list_by_instance(rg, mi)):
            check_model(d, f"distributedAvailabilityGroups[{i}]")
        db = dag.properties.databases[0]
        assert "Error" not in (db.replica_state or ""), db
        return dag if db.replica_state == "LinkSynchronizing" else None

    dag = wait_for("the link to synchronize", synchronizing)
    db = dag.properties.databases[0]
    assert db.connected_state == "CONNECTED", db
    assert int(db.last_hardened_lsn) > 0, db
    print("synchronizing", db.last_hardened_lsn)

    updated = client.distributed_availability_groups.begin_update(
        rg,
        mi,
        c["dag"],
        models.DistributedAvailabilityGroup(
            properties=models.DistributedAvailabilityGroupProperties(replication_mode="Sync")
        ),
    ).result(timeout=DEADLINE_SECONDS)
    check_model(updated, "updated link")
    assert updated.properties.replication_mode == "Sync", updated
    print("replication Sync")


def cutover(client, c):
    rg, mi = c["resource_group"], c["instance"]
    failed_over = client.distributed_availability_groups.begin_failover(
        rg, mi, c["dag"], models.DistributedAvailabilityGroupsFailoverRequest(failover_type="Planned")
    ).result(timeout=DEADLINE_SECONDS)
    check_model(failed_over, "failed-over link")
    assert failed_over.properties.instance_link_role == "Primary", failed_over
    assert failed_over.properties.partner_link_role == "Secondary", failed_over
    print("failed over")

    def set_role(role, kind):
        return client.distributed_availability_groups.begin_set_role(
            rg, mi, c["dag"], models.DistributedAvailabilityGroupSetRole(instance_role=role, role_change_type=kind)
        ).result(timeout=DEADLINE_SECONDS)

    code = error_code(lambda: set_role("Primary", "Forced"))
    assert code == "DistributedAvailabilityGroupSetRoleInstanceAlreadyInRequestedRole", code
    code = error_code(lambda: set_role("Primary", "Planned"))
    assert code == "DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported", code
    print("setRole refused", code)
    # Failback: the MI back to secondary, SQL Server primary again (a planned role change).
    failed_back = set_role("Secondary", "Planned")
    check_model(failed_back, "failed-back link")
    assert failed_back.properties.instance_link_role == "Secondary", failed_back
    assert failed_back.properties.partner_link_role == "Primary", failed_back
    print("failed back")

    client.distributed_availability_groups.begin_delete(rg, mi, c["dag"]).result(timeout=DEADLINE_SECONDS)
    try:
        link(client, c)
        raise AssertionError("the deleted link is still there")
    except ResourceNotFoundError:
        pass
    client.server_trust_certificates.begin_delete(rg, mi, c["certificate_name"]).result(timeout=DEADLINE_SECONDS)
    assert list(client.server_trust_certificates.list_by_instance(rg, mi)) == []
    print("deleted", c["dag"])


def main(config_path, phase):
    with open(config_path) as f:
        c = json.load(f)
    client = SqlManagementClient(
        StaticToken(c["token"]),
        c["subscription"],
        base_url=c["endpoint"],
        connection_verify=c["ca"],
    )
    {"create": create, "cutover": cutover}[phase](client, c)
    print("CONFORMANT")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
