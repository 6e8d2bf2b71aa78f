//! What a Managed Instance's refusal of a restore means, by error number ("Database engine
//! events and errors 41000 to 49999" and "3000 to 3999", sql-docs), for the person reading the
//! report: the number alone sends them searching.

/// The meaning of MI restore error `number`, and what to do, or None for a number that is not
/// a restore refusal.
pub fn meaning(number: i32) -> Option<&'static str> {
    Some(match number {
        41901 => {
            "the Managed Instance refused an option of the statement (it takes RESTORE DATABASE … FROM URL with no WITH options)"
        }
        41902 => {
            "the Managed Instance restores only from URL (a backup in Azure Blob Storage), not from DISK or TAPE"
        }
        41907 => {
            "the backup holds a file type the Managed Instance does not restore (FILESTREAM or FileTable data); move that data out of the database on the source"
        }
        41912 => "the Managed Instance holds its maximum number of databases; make room first",
        41913 => {
            "the backup holds FILESTREAM files, which the Managed Instance does not support; move that data out of the database on the source"
        }
        41915 => {
            "the backup holds memory-optimized (In-Memory OLTP) data, which only a Business Critical instance restores; use one, or move those tables to disk on the source"
        }
        41916 => {
            "the Managed Instance would pass its maximum number of database files (280 per General Purpose instance); merge files on the source"
        }
        41919 => {
            "the backup file holds several backup sets; the Managed Instance restores a file with one (back up again WITH FORMAT to a new file)"
        }
        41921 => {
            "the backup has several log files; the Managed Instance restores one (remove the extra log files on the source and back up again)"
        }
        41923 => {
            "the backup is TDE-encrypted and the Managed Instance lacks its certificate; migrate the certificate first (methods.md §4.6)"
        }
        41935 => {
            "the Managed Instance's underlying storage account is full (35 TB of allocated space); make room first"
        }
        41939 => {
            "the database keeps its ADR version store outside PRIMARY; set PERSISTENT_VERSION_STORE_FILEGROUP = [PRIMARY] (or turn ADR off) on the source and back up again"
        }
        1801 => {
            "a database with this name already exists on the Managed Instance; drop it or set target_name"
        }
        3169 => {
            "the backup comes from a newer SQL Server than the Managed Instance's update policy restores"
        }
        33111 => {
            "the backup is TDE-encrypted and the MI lacks its certificate; migrate the certificate first"
        }
        3241 | 3132 | 3231 => "a stripe of the backup is missing or damaged; give every stripe",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_documented_restore_refusal_is_explained() {
        for n in [
            41901, 41902, 41907, 41913, 41915, 41916, 41919, 41921, 41923, 41939,
        ] {
            assert!(super::meaning(n).is_some(), "{n}");
        }
        assert!(super::meaning(41915).unwrap().contains("Business Critical"));
        assert_eq!(super::meaning(50000), None);
    }
}
