-- 033_subscriber_localised: the accounts that have a language or a time
-- zone (020), indexed apart.
--
-- A sender asks, for every batch of notices, the language and zone of
-- each notice's accounts.  Most lists carry neither (the 2020 list did
-- not), and at 3 M certificates the lookup read every account's
-- subscriber row for nothing: 3.3-6.3 s of statement time in notify,
-- as much as the claims.  It now looks only among the accounts that
-- have one, through this index: a probe each in an index that is empty
-- when no account has one.
CREATE INDEX subscriber_localised ON subscriber (account)
	WHERE lang IS NOT NULL OR tz IS NOT NULL;
