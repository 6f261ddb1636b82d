-- 020_bounces: what happened to a notice after the relay took it, and
-- the language and time zone of an account.
--
-- "Sent" is the relay's acceptance; a delivery status notification
-- (RFC 3464) read back by `certrecall bounces` says more: delivered
-- (a positive DSN), delayed (4.x.x) or bounced (5.x.x), with the status
-- code and the diagnostic.  A later report never downgrades an earlier
-- one (bounced > delivered > delayed), so reading a mailbox twice
-- changes nothing.  An address that bounced hard is unreachable for the
-- incident: reminders skip it, and the reminders already queued for it
-- leave the queue as 'unreachable'.
ALTER TABLE notice
	ADD COLUMN delivery text
		CHECK (delivery IN ('delivered', 'delayed', 'bounced')),
	ADD COLUMN delivery_status text,     -- "5.1.1"
	ADD COLUMN delivery_diagnostic text, -- "smtp; 550 5.1.1 ..."
	ADD COLUMN delivery_at timestamptz,
	DROP CONSTRAINT notice_state_check,
	ADD CONSTRAINT notice_state_check
		CHECK (state IN ('pending', 'claimed', 'sent', 'retry',
				 'failed', 'no-address', 'unreachable'));

CREATE TABLE unreachable_address (
	incident_id bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	address     text NOT NULL,
	notice_id   bigint NOT NULL REFERENCES notice ON DELETE CASCADE,
	status      text NOT NULL,
	diagnostic  text,
	recorded_at timestamptz NOT NULL,
	PRIMARY KEY (incident_id, address)
);

-- Empty means unknown: English, and the deadline in UTC only.
ALTER TABLE subscriber
	ADD COLUMN lang text CHECK (lang ~ '^[a-z]{2,3}$'),
	ADD COLUMN tz text CHECK (tz <> '');

-- Who was reached, per contact address, for status and the report:
-- told (a notice sent and none bounced), bounced (a notice bounced),
-- unreachable (bounced 5.x.x), and accounts with no address at all.
CREATE FUNCTION notice_reach(incident bigint)
RETURNS TABLE (told bigint, bounced bigint, unreachable bigint,
	       no_address bigint)
LANGUAGE sql STABLE AS $$
	SELECT count(DISTINCT address) FILTER (WHERE state = 'sent'
		AND NOT EXISTS (SELECT 1 FROM notice b
			WHERE b.incident_id = incident
			AND b.address = n.address AND b.delivery = 'bounced')),
	       count(DISTINCT address) FILTER (WHERE delivery = 'bounced'),
	       (SELECT count(*) FROM unreachable_address u
		WHERE u.incident_id = incident),
	       count(DISTINCT account) FILTER (WHERE state = 'no-address')
	FROM notice n WHERE n.incident_id = incident
$$;
