-- The change tickets the gate reads: a Tickets database on the emulated source, one ticket per
-- database (SalesDb's still pending). `ferry-emulator serve --source-sql tickets.sql` runs this
-- when its data directory is new.
CREATE DATABASE Tickets;
CREATE TABLE Tickets.dbo.change_tickets (
    ticket_id     nvarchar(20) NOT NULL,
    database_name sysname      NOT NULL,
    status        nvarchar(20) NOT NULL,
    requested_at  datetime2    NOT NULL
);
INSERT INTO Tickets.dbo.change_tickets VALUES
    (N'CHG-1', N'HRDb',        N'approved', SYSUTCDATETIME()),
    (N'CHG-2', N'SalesDb',     N'pending',  SYSUTCDATETIME()),
    (N'CHG-3', N'InventoryDb', N'approved', SYSUTCDATETIME());
