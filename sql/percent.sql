--
-- Percent-decoding shared by SigV4 canonicalisation and Hive partition
-- folders (src/common/percent.c): %XX of either case is a byte, a '%'
-- without two hex digits (or too close to the end) stays literal, '+'
-- stays '+' (only S3 listings treat it as a space).
--
\pset null (null)
SELECT s, dlake._hive_unescape(s) AS decoded
FROM unnest(ARRAY['a%41b', 'a%4a%4A', '%', 'a%', 'a%4', '%4G', '%%41', 'a+b', '%2B',
                  '%252F', 'x%2Fy', '%C3%A9t%C3%A9', '__HIVE_DEFAULT_PARTITION__']) s;

-- SigV4 decodes the S3 path and the query before encoding them canonically
SELECT dlake.sigv4_canonical_request('GET', '/b/a%41+c%2b%', 'x=%41%2&y=a+b', ARRAY['host:h'],
	'UNSIGNED-PAYLOAD', true);
