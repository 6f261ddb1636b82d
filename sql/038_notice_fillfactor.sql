-- 038_notice_fillfactor: room on each page for the update every notice
-- and its queue row get.
--
-- Planning inserts a notice and its queue row once; the claim updates
-- the queue row, the outcome updates the notice and deletes the queue
-- row.  Packed full (fillfactor 100), a page has no room when the update
-- comes, so the new version goes to another page with a new entry in
-- every index (three on notice, two on notice_queue).  With room on the
-- page the update is HOT: no index entry at all.  A sent notice grows by
-- its reply, Message-ID and times, so the room is most of the page.  At
-- the 2020 list's size (notify alone, 2 runs each, alternating),
-- PostgreSQL's CPU was 10.7-11.0 s against 12.3-14.4 s packed full; the
-- tables take three times the space (130,627 notices: about 60 MB).
-- Pages written before keep their rows as they are.
ALTER TABLE notice SET (fillfactor = 40);
ALTER TABLE notice_queue SET (fillfactor = 40);
