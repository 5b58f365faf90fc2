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
SELECT seq, hash, keyed_from, set_config('synchronous_commit', 'off', true) FROM audit_head WHERE id = 1 FOR UPDATE;
WITH e AS (UPDATE audit_events a SET seq = h.seq + 1, prev_hash = h.hash, hash = md5(a.id::text || 'x') || md5(a.id::text || 'y') FROM audit_head h WHERE h.id = 1 AND a.id = :eid AND a.seq IS NULL RETURNING a.seq, a.hash) UPDATE audit_head SET seq = e.seq, hash = e.hash, mac = md5(e.hash) FROM e WHERE audit_head.id = 1 AND (SELECT count(*) FROM e) = 1 RETURNING audit_head.seq;
COMMIT;
