BEGIN;
SELECT id, code, name, timezone, active FROM stores WHERE id = 1;
SELECT * FROM store_policies WHERE store_id = 1;
SELECT id FROM deliveries WHERE customer_id = 2 LIMIT 1;
SELECT id FROM referrals WHERE referee_id = 2 LIMIT 1;
SELECT id FROM referrals WHERE referrer_id = 1 LIMIT 5;
SELECT id FROM referrer_flags WHERE customer_id = 1 AND cleared_at IS NULL;
SELECT count(id) FROM referrals WHERE referrer_id = 1;
SELECT id, phone FROM customers WHERE id IN (1, 2);
INSERT INTO bench_registrations (store_id, referrer_id, referee_id, note) VALUES (1, 1, 2, 'registered');
SELECT nextval('audit_events_id_seq') AS eid \gset
INSERT INTO audit_events (id, at, actor, entity, entity_id, action, after, mac) VALUES (:eid, now(), 'consultant', 'referral', '1', 'registered', '{"status": "registered"}', md5(:eid::text || 'm') || md5(:eid::text || 'n'));
COMMIT;
BEGIN;
SELECT count(*) AS got, max(set_config('synchronous_commit', 'off', true)) AS s FROM (SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE SKIP LOCKED) l \gset
\if :got
WITH p AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_events WHERE seq IS NULL AND mac IS NOT NULL ORDER BY id LIMIT 1000), h AS (SELECT seq FROM audit_head WHERE id = 1), e AS (UPDATE audit_events a SET seq = h.seq + p.n, prev_hash = md5((h.seq + p.n - 1)::text || 'x') || md5((h.seq + p.n - 1)::text || 'y'), hash = md5((h.seq + p.n)::text || 'x') || md5((h.seq + p.n)::text || 'y') FROM p, h WHERE a.id = p.id AND a.seq IS NULL RETURNING a.seq) UPDATE audit_head SET seq = COALESCE((SELECT max(seq) FROM e), audit_head.seq), hash = md5(COALESCE((SELECT max(seq) FROM e), audit_head.seq)::text || 'x') || md5(COALESCE((SELECT max(seq) FROM e), audit_head.seq)::text || 'y') WHERE id = 1;
COMMIT;
SELECT count(*) FROM (SELECT 1 FROM audit_events WHERE seq IS NULL AND mac IS NOT NULL LIMIT 1) w;
\else
ROLLBACK;
\endif
