-- 035_notice_storage: no statistics of a list's arrays.
--
-- No plan uses statistics of a list's certificate ids or listing, but
-- ANALYZE read a sample of them whole: `notify` analyzes the notices'
-- tables after its first slice, before the senders start, and with one
-- planned incident in the table (171,254 lists at the 2020 list's size)
-- that took 0.51-0.55 s, against 0.06-0.07 s without them.  Planning's
-- own table of the accounts' arrays is analyzed without them too
-- (notice_store.c, plan_acct(): 0.49 s -> 0.06 s at 3 M).
ALTER TABLE notice_certificate_set
	ALTER certificate_ids SET STATISTICS 0,
	ALTER listing SET STATISTICS 0;
