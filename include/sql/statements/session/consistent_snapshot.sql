-- One read view for every statement until the transaction ends (InnoDB's consistent snapshot).
START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY
