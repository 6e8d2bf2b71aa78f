"""python-tds with its defaults (autocommit off: every statement runs inside a transaction that
the client opens with a TDS transaction-manager request) against ferry-emulator's source.

Prints one line per check; emulator/tests/serve.rs asserts on them.
Usage: pytds_defaults.py PORT PASSWORD CA_FILE
"""
import sys

import pytds

port, password, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]

with pytds.connect(server="localhost", port=port, user="sa", password=password,
                   database="master", cafile=ca) as conn:
    print("AUTOCOMMIT", conn.autocommit)
    cur = conn.cursor()
    cur.execute("CREATE TABLE HRDb.dbo.Ledger (Id int, Note nvarchar(40))")
    conn.commit()
    cur.execute("INSERT INTO HRDb.dbo.Ledger VALUES (1, N'rolled back')")
    conn.rollback()
    cur.execute("INSERT INTO HRDb.dbo.Ledger VALUES (2, N'kept')")
    conn.commit()
    cur.execute("SELECT Id, Note FROM HRDb.dbo.Ledger ORDER BY Id")
    print("LEDGER", cur.fetchall())
    cur.execute("SELECT @@TRANCOUNT")
    print("TRANCOUNT", cur.fetchall())
    conn.commit()

    cur.execute("DECLARE @n int = 6; SET @n = @n * 7 - 2; "
                "IF @n > 10 SELECT 'big', @n ELSE SELECT 'small', @n")
    print("IF", cur.fetchall())
    cur.execute("EXEC sp_executesql N'SELECT @a + @b', N'@a int, @b int', @a = 40, @b = 2")
    print("EXECUTESQL", cur.fetchall())
    cur.execute("SELECT DB_NAME(DB_ID('HRDb')), "
                "CASE WHEN OBJECT_ID('HRDb.dbo.Ledger') IS NULL THEN 'missing' ELSE 'found' END")
    print("NAMES", cur.fetchall())
    cur.execute("SELECT name, type FROM HRDb.sys.objects WHERE name = 'Ledger'")
    print("OBJECTS", cur.fetchall())
    cur.execute("SELECT command FROM sys.dm_exec_requests WHERE session_id = @@SPID")
    print("REQUESTS", cur.fetchall())
    cur.execute("EXEC sp_who")
    print("WHO", [column[0] for column in cur.description], len(cur.fetchall()) > 0)
    conn.commit()

    for sql in ["RAISERROR('ledger %s is short by %d', 16, 3, N'L1', 7)",
                "THROW 51000, 'no such ledger', 2",
                "SELECT 1 / 0"]:
        try:
            cur.execute(sql)
            print("NO ERROR", sql)
        except pytds.Error as e:
            print("ERROR", e.msg_no, e.severity, e.state, e.message.splitlines()[-1])
        conn.rollback()

    # A transaction descriptor the server never handed out: the request is refused.
    cur.execute("SELECT 1")
    conn._tds_socket.tds72_transaction = 0x1234567
    try:
        cur.execute("SELECT 2")
        print("NO ERROR stale descriptor")
    except pytds.Error as e:
        print("STALE", e.msg_no, e.severity)
