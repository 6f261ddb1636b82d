-- 013_incident_comment: the CCADB "answer to comments" clock, and
-- incident text that cannot smuggle control characters into messages.
--
-- Every comment on an incident's report starts a 7-day clock of its own
-- (CCADB IRG); `incident update --comment-at TIME` records one, and
-- `--comment-answered TIME` answers every comment made by then that was
-- still open.  Comments are compliance records like incidents: kept.

CREATE TABLE incident_comment (
	incident_id bigint NOT NULL REFERENCES incident,
	comment_at  timestamptz NOT NULL,
	answered_at timestamptz,
	PRIMARY KEY (incident_id, comment_at),
	CHECK (answered_at IS NULL OR answered_at >= comment_at)
);

-- C0 controls (CR, LF, TAB, ESC ...) and DEL: a title is copied into
-- message bodies and headers.  NOT VALID: rows from before are not
-- rechecked (nothing to repair by hand during a migration), every new or
-- changed row is.
ALTER TABLE incident ADD CONSTRAINT incident_title_plain
	CHECK (title !~ '[\x01-\x1f\x7f]') NOT VALID;
ALTER TABLE incident ADD CONSTRAINT incident_reason_plain
	CHECK (reason !~ '[\x01-\x1f\x7f]') NOT VALID;
