-- 025_dsn: positive delivery status notifications (RFC 3461/3464).
--
-- Every notice asks for DSNs (mailer.dsn, NOTIFY=SUCCESS,FAILURE,DELAY
-- by default).  "Action: delivered" is the receiving system's word that
-- the mailbox got the notice: delivery 'delivered'.  "Action: relayed"
-- (or "expanded") says only that it was passed to a next hop that does
-- not speak DSN: no proof of delivery, kept apart as 'relayed'.  The
-- order a later report may replace an earlier one: bounced > delivered
-- > relayed > delayed.
ALTER TABLE notice
	DROP CONSTRAINT notice_delivery_check,
	ADD CONSTRAINT notice_delivery_check
		CHECK (delivery IN ('delivered', 'relayed', 'delayed',
				    'bounced'));

-- notice_reach (020) gains delivered: addresses with a notice confirmed
-- delivered by a positive DSN (a part of told, never the relay's
-- acceptance alone).
DROP FUNCTION notice_reach(bigint);
CREATE FUNCTION notice_reach(incident bigint)
RETURNS TABLE (told bigint, bounced bigint, unreachable bigint,
	       no_address bigint, delivered bigint)
LANGUAGE sql STABLE AS $$
	SELECT count(DISTINCT address) FILTER (WHERE state = 'sent'
		AND NOT EXISTS (SELECT 1 FROM notice b
			WHERE b.incident_id = incident
			AND b.address = n.address AND b.delivery = 'bounced')),
	       count(DISTINCT address) FILTER (WHERE delivery = 'bounced'),
	       (SELECT count(*) FROM unreachable_address u
		WHERE u.incident_id = incident),
	       count(DISTINCT account) FILTER (WHERE state = 'no-address'),
	       count(DISTINCT address) FILTER (WHERE delivery = 'delivered'
		AND NOT EXISTS (SELECT 1 FROM notice b
			WHERE b.incident_id = incident
			AND b.address = n.address AND b.delivery = 'bounced'))
	FROM notice n WHERE n.incident_id = incident
$$;
