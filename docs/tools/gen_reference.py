#!/usr/bin/env python3
"""docs/tools/gen_reference.py - regenerate docs/reference.md from the
catalog of the installed extension (pg_proc, pg_class, pg_settings through
psql: set PGHOST/PGPORT/... e.g. `source $DLAKE_STACK_DIR/env.sh`) and from
the option table of src/fdw/options.c.  Links point to the first heading of
a feature page naming the object (or the heading above its first ```sql
example).  New public objects need a description in DESC/RDESC and, for
functions, a group in GROUPS; test/integration/docs_coverage.test.mjs checks
the result.

usage: source $DLAKE_STACK_DIR/env.sh; python3 docs/tools/gen_reference.py
"""
import re, os, subprocess, collections, sys
ROOT=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS=os.path.join(ROOT,'docs')
ORDER=['storage.md','formats.md','export.md','load.md','streaming.md','rules.md','operations.md','fdw.md','credentials.md','http.md','configuration.md','athena.md','troubleshooting.md','concepts.md','quickstart.md']

def anchor(h):
    t=h.lstrip('#').strip().lower()
    t=re.sub(r'[^\w\- ]','',t)
    return t.replace(' ','-')

pages={}
for f in ORDER:
    lines=open(os.path.join(DOCS,f)).read().split('\n')
    heads=[]; seen=collections.Counter(); infence=None; blocks=[]; cur_head=None
    for i,l in enumerate(lines):
        m=re.match(r'^\s*(```+)\s*(\w*)',l)
        if infence is not None:
            if m and m.group(2)=='':
                blocks.append((infence[0],infence[1],'\n'.join(infence[2])));infence=None
            else: infence[2].append(l)
            continue
        if m: infence=(m.group(2),cur_head,[]); continue
        if re.match(r'^#{1,6}\s',l):
            a=anchor(l); n=seen[a]; seen[a]+=1
            if n: a=f'{a}-{n}'
            cur_head=(l,a); heads.append((l,a))
    pages[f]=(heads,blocks)

def fn_re(name):
    return re.compile(r'(?<![A-Za-z0-9_])dlake\.%s(?![A-Za-z0-9_])|(?<![A-Za-z0-9_.])%s\s*\(' % (re.escape(name),re.escape(name)))

def link_for(pat, prefer=None):
    order=ORDER if not prefer else [prefer]+[p for p in ORDER if p!=prefer]
    for f in order:
        for h,a in pages[f][0]:
            if pat.search(h): return f'{f}#{a}'
    for f in order:
        for lang,head,body in pages[f][1]:
            if lang=='sql' and pat.search(body):
                return f'{f}#{head[1]}' if head else f
    return None

def psql(q):
    out=subprocess.run(['psql','-XAt','-F','\x1f','-c',q],capture_output=True,text=True,check=True).stdout
    return [l.split('\x1f') for l in out.split('\n') if l]

def clean(s):
    s=re.sub(r"'([^']*)'::[a-z ]+(\[\])?", r"'\1'", s)
    s=re.sub(r"NULL::[a-z ]+(\[\])?", "NULL", s)
    s=s.replace('DEFAULT NULL[]','DEFAULT NULL')
    return s

fns=psql(r"""SELECT p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
  has_function_privilege('public', p.oid, 'EXECUTE')
  FROM pg_proc p JOIN pg_namespace n ON n.oid=p.pronamespace
 WHERE nspname='dlake' AND proname NOT LIKE '\_%' ORDER BY 1,2""")

DESC={
 'list':'objects under a prefix: path, size, last modified, ETag',
 'stat':"one object's size, last modified, ETag",
 'read_text':'read an object as text',
 'read_bytes':'read an object or a byte range',
 'write_text':'write an object (multipart above `dlake.multipart_part_size`)',
 'write_bytes':'write an object (multipart above `dlake.multipart_part_size`)',
 'delete':'delete an object or every object under a prefix; returns the count',
 'copy_object':'server-side copy',
 'presign':'presigned GET/PUT URL',
 'create_bucket':'create a bucket (demos, tests)',
 'write_generated':'test helper: write N pseudo-random bytes',
 'write_file':'one query → one file; returns rows written',
 'read_file':'one file → rows (column definition list)',
 'file_schema':'columns and types of a file',
 'parquet_metadata':'row groups and column chunks of a Parquet file',
 'create_zone':'create or replace a named base location',
 'export':'a query → Hive-partitioned files (Athena UNLOAD / Glue write)',
 'export_table':'the rows of a table not exported before to that location (incremental, exactly once)',
 'load':'files → table, skipping files already loaded (Redshift COPY)',
 'create_stream':'consume a Kinesis stream into `dlake_staging.<name>`',
 'pause_stream':'stop reading a stream (checkpoints kept)',
 'resume_stream':'read a paused stream again',
 'drop_stream':'forget a stream (and its staging table unless `keep_staging`)',
 'set_stream_policy':'out-of-range hash keys, retry and age limits before dead-lettering',
 'put_records':'PutRecords from SQL (text or bytea payloads; batches of 500, failed entries retried)',
 'kpl_deaggregate':'the user records of a KPL aggregate',
 'stream_payload':'the staging `payload` jsonb of a record\'s bytes (NULL when not JSON)',
 'create_ruleset':'define a rule set (JSON)',
 'alter_ruleset':'replace the rules of a rule set',
 'drop_ruleset':'drop a rule set',
 'validate':'the failures of one record',
 'enrich':'one record enriched',
 'apply_ruleset':'incremental application to a table → cleansed / quarantine',
 'reprocess_quarantine':'move records that now pass back to cleansed',
 'quarantine_summary':'failures of one quarantine table by rule, field, reason',
 'run_job':'run a command as a named job: one run at a time, every run recorded',
 'schedule':'pg_cron job running `run_job`',
 'unschedule':'remove a scheduled job (history stays)',
 'export_stream':'new staged records → raw zone, new cleansed rows → cleansed zone, exactly once',
 'compact':'rewrite small files of each partition into few large ones; old files retired, deleted after `grace`',
 'create_file_flow':'follow server files, ship new lines to a Kinesis stream or a table',
 'drop_file_flow':'stop and forget a file flow',
 'fdw_handler':'handler of `dlake_fdw` (not called directly)',
 'fdw_validator':'option validator of `dlake_fdw` (not called directly)',
 'fdw_invalidate':'forget cached file listings of one foreign table (or all)',
 'resolve_credentials':'which credentials the chain would use (no secrets shown)',
 'aws_credentials_reset':'drop cached credentials of this session',
 'aws_request_stats':'requests, retries and throttles of this session',
 'aws_request_test':'test helper: one signed request with retries',
 'aws_error_parse':'test helper: how an AWS error response is classified',
 'sigv4_canonical_request':'SigV4 step: canonical request',
 'sigv4_string_to_sign':'SigV4 step: string to sign',
 'sigv4_signing_key_hex':'SigV4 step: derived signing key (hex)',
 'sigv4_signature':'SigV4 step: signature (hex)',
 'sigv4_authorization':'SigV4: the `Authorization` header value',
 'sigv4_presign_query':'SigV4: query string of a presigned URL',
 'sigv4_uri_encode':'SigV4 URI encoding',
}
GROUPS=[
 ('Storage: objects in S3 or file://','storage.md',['list','stat','read_text','read_bytes','write_text','write_bytes','delete','copy_object','presign','create_bucket','write_generated']),
 ('Formats: Parquet, CSV, JSON lines','formats.md',['write_file','read_file','file_schema','parquet_metadata']),
 ('Zones, export and load','export.md',['create_zone','export','export_table','load']),
 ('Streams: Kinesis ingestion','streaming.md',['create_stream','pause_stream','resume_stream','drop_stream','set_stream_policy','put_records','kpl_deaggregate','stream_payload']),
 ('Rule sets','rules.md',['create_ruleset','alter_ruleset','drop_ruleset','validate','enrich','apply_ruleset','reprocess_quarantine','quarantine_summary']),
 ('Jobs','operations.md',['run_job','schedule','unschedule','export_stream','compact']),
 ('File flows','operations.md',['create_file_flow','drop_file_flow']),
 ('Lake foreign tables (dlake_fdw)','fdw.md',['fdw_handler','fdw_validator','fdw_invalidate']),
 ('AWS helpers','credentials.md',['resolve_credentials','aws_credentials_reset','aws_request_stats','aws_request_test','aws_error_parse','sigv4_canonical_request','sigv4_string_to_sign','sigv4_signing_key_hex','sigv4_signature','sigv4_authorization','sigv4_presign_query','sigv4_uri_encode']),
]
FOVR={'create_zone':'export.md#zones'}
byname=collections.OrderedDict()
for name,args,res,pub in fns:
    byname.setdefault(name,[]).append((clean(args),res,pub=='t'))
grouped=set(n for g in GROUPS for n in g[2])
other=[n for n in byname if n not in grouped]
if other: GROUPS.append(('Other','',other))
missing=[n for g in GROUPS for n in g[2] if n not in byname]
if missing: print('WARNING not installed:',missing,file=sys.stderr)

out=[]
w=out.append
w('# SQL reference (index)')
w('')
w('Every function, view, catalog table, FDW option and setting of dlake 0.1, each with a')
w('link to the section that documents it with examples. Everything lives in schema')
w('`dlake`. Functions marked *not PUBLIC* touch storage or AWS and are revoked from')
w('`PUBLIC` ([configuration.md](configuration.md#granting-access)).')
w('')
w('**Internal names.** Functions, tables and views whose name starts with `_`')
w('(`dlake._rules_compile`, `dlake._to_int8`, `dlake._job_returns_rows`, ...) are internal: used by the')
w('generated code of rule sets, by jobs and by the extension itself, not documented,')
w('and may change in any release. Everything else is public and documented; the test')
w('`test/integration/docs_coverage.test.mjs` fails when a public name is missing from')
w('the manual or from this index.')
w('')
w('This page is generated by `docs/tools/gen_reference.py` from the catalog of the installed')
w('extension (`pg_proc`, `pg_class`, `pg_settings`) and the option table of `src/fdw/options.c`.')
w('')
w('## Functions')
w('')
for title,page,names in GROUPS:
    w(f'### {title}' + (f' ([{page}]({page}))' if page else ''))
    w('')
    w('| function | returns | what | documented in |')
    w('|---|---|---|---|')
    for n in names:
        if n not in byname: continue
        pref = page if page else None
        if n.startswith('sigv4_') or n.startswith('aws_request') or n=='aws_error_parse': pref='http.md'
        link=FOVR.get(n) or link_for(fn_re(n), pref)
        if not link: print('WARNING no doc link for',n,file=sys.stderr); link=page
        for args,res,pub in byname[n]:
            res=res.replace('|','\\|')
            flag='' if pub else ' *not PUBLIC*'
            w(f'| `dlake.{n}({args})` | `{res}` | {DESC.get(n,"")}{flag} | [{link.split("#")[0]}]({link}) |')
    w('')
rels=psql(r"""SELECT c.relname, CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END
  FROM pg_class c JOIN pg_namespace n ON n.oid=c.relnamespace
 WHERE nspname='dlake' AND c.relkind IN ('r','p','v') AND c.relname NOT LIKE '\_%' ORDER BY 2,1""")
RDESC={
 'zones':'named base locations: name, location, server',
 'export_runs':'one row per committed export call: rows, bytes, files, status',
 'files':'every file dlake wrote: location, path, partition (jsonb), rows, bytes, column min/max',
 'export_state':'per (table, location): the snapshot of the last successful `export_table`',
 'load_runs':'one row per load call',
 'loaded_files':'the objects loaded (with ETag), so a file is loaded once',
 'load_errors':'rejected lines of loads',
 'streams':'stream configuration, state and policies',
 'shards':'shard lineage and checkpoints',
 'ingest_errors':'errors of the stream workers',
 'dead_letters':'records that could not be stored',
 'rulesets':'rule sets, as given and compiled',
 'ruleset_progress':'progress and totals of `apply_ruleset` per (rule set, source)',
 'job_runs':'every job run: job, started, finished, status, rows, bytes, files, error',
 'retired_files':'files replaced by `compact`, waiting for deletion',
 'file_flows':'file flows with counters and last error',
 'file_flow_files':'followed files with their offsets',
 'stream_status':'per shard: state, checkpoint, lag, rates, counters, last error',
 'jobs':'scheduled jobs with their last run and counts',
 'lake_summary':'per zone, location and partition: files, rows, bytes, last write',
 'quarantine_summary':'per quarantine table, rule set, source and reason: all time and last 24 h',
}
RPAGE={'zones':'export.md','export_runs':'export.md','files':'export.md','export_state':'export.md',
 'load_runs':'load.md','loaded_files':'load.md','load_errors':'load.md',
 'streams':'streaming.md','shards':'streaming.md','ingest_errors':'streaming.md','dead_letters':'streaming.md','stream_status':'streaming.md',
 'rulesets':'rules.md','ruleset_progress':'rules.md'}
ROVR={'streams':'streaming.md#catalog-tables','shards':'streaming.md#catalog-tables','ingest_errors':'streaming.md#catalog-tables',
 'dead_letters':'streaming.md#catalog-tables','stream_status':'streaming.md#monitoring','rulesets':'rules.md#functions',
 'ruleset_progress':link_for(fn_re('apply_ruleset'),'rules.md'),'retired_files':'operations.md#dlakecompact','file_flows':'operations.md#file-flows',
 'file_flow_files':'operations.md#file-flows'}
def rel_link(n,kind):
    if n in ROVR: return ROVR[n]
    pat=re.compile(r'(?<![A-Za-z0-9_])dlake\.%s(?![A-Za-z0-9_])|^#+\s.*`%s`' % (re.escape(n),re.escape(n)))
    pref=RPAGE.get(n,'operations.md')
    # headings first (prefer the page given), then any code mention on the preferred page
    for f in [pref]+[p for p in ORDER if p!=pref]:
        for h,a in pages[f][0]:
            if pat.search(h) and (kind!='view' or 'view' in h or n!='quarantine_summary'):
                return f'{f}#{a}'
    for h,a in pages[pref][0]:
        pass
    return pref
w('## Views and catalog tables')
w('')
w('| name | kind | what | documented in |')
w('|---|---|---|---|')
for n,kind in rels:
    link=rel_link(n,kind)
    w(f'| `dlake.{n}` | {kind} | {RDESC.get(n,"")} | [{link.split("#")[0]}]({link}) |')
w('')
w('Tables made per object: `dlake_staging.<stream>` ([streaming.md](streaming.md#staging-table-layout)),')
w('`dlake_cleansed.<name>` and `dlake_quarantine.<name>` ([rules.md](rules.md#tables)).')
w('')

gucs=psql(r"""SELECT name, boot_val, coalesce(unit,''), context, short_desc, vartype, coalesce(min_val,''), coalesce(max_val,'') FROM pg_settings WHERE name LIKE 'dlake.%' ORDER BY 1""")
GPAGE={'dlake.database':'streaming.md#gucs','dlake.max_workers':'streaming.md#gucs','dlake.worker_naptime':'streaming.md#gucs',
 'dlake.kinesis_read_budget':'streaming.md#gucs','dlake.max_bytes_scanned':'fdw.md#limits-and-cost-control',
 'dlake.fdw_listing_ttl':'fdw.md#functions-and-settings','dlake.progress_interval':'export.md#atomic-for-readers',
 'dlake.connect_timeout':'http.md#settings','dlake.request_timeout':'http.md#settings','dlake.max_retries':'http.md#settings',
 'dlake.retry_base_delay':'http.md#settings','dlake.retry_max_delay':'http.md#settings'}
CTX={'user':'user (any role, `SET`)','superuser':'superuser (`SET` by a superuser, `ALTER SYSTEM`, postgresql.conf)',
     'sighup':'sighup (postgresql.conf / `ALTER SYSTEM` + reload)','postmaster':'postmaster (restart)'}
def fmt_default(v,unit):
    if v=='' : return "`''`"
    if unit=='ms':
        v=int(v); return f'`{v//1000}s`' if v%1000==0 and v>=1000 else f'`{v}ms`'
    if unit=='s': return f'`{v}s`'
    if unit=='kB':
        v=int(v); return f'`{v//1024}MB`' if v%1024==0 and v>0 else f'`{v}kB`'
    if unit=='MB': return f'`{v}` (MB)'
    return f'`{v}`'
w('## Settings (GUCs)')
w('')
w('| GUC | type, range | default | context | what | documented in |')
w('|---|---|---|---|---|---|')
for name,boot,unit,ctx,desc,vtype,lo,hi in gucs:
    link=GPAGE.get(name,'configuration.md#gucs')
    rng=f'{vtype} {lo}..{hi}' + (f' {unit}' if unit else '') if lo!='' else vtype
    w(f'| `{name}` | {rng} | {fmt_default(boot,unit)} | {CTX.get(ctx,ctx)} | {desc} | [{link.split("#")[0]}]({link}) |')
w('')

src=open(os.path.join(ROOT,'src/fdw/options.c')).read()
tab=re.search(r'dlake_fdw_options\[\]\s*=\s*\{([\s\S]*?)\n\};',src).group(1)
opts=re.findall(r'\{\s*"([A-Za-z0-9_]+)"\s*,\s*([A-Za-z]+RelationId)\s*,\s*(DLAKE_OPT_\w+)',tab)
OBJ={'ForeignServerRelationId':'server','UserMappingRelationId':'user mapping','ForeignTableRelationId':'foreign table','AttributeRelationId':'column'}
TYP={'DLAKE_OPT_STRING':'text','DLAKE_OPT_URL':'URL (`http(s)://host[:port]`, no path)','DLAKE_OPT_BOOL':'boolean','DLAKE_OPT_SECRET':'secret (user mapping only)'}
OPAGE={'server':'configuration.md#servers','user mapping':'configuration.md#user-mappings','foreign table':'fdw.md#table-options','column':'fdw.md#column-options'}
w('## dlake_fdw options')
w('')
w('The foreign data wrapper `dlake_fdw` (handler `dlake.fdw_handler`, validator')
w('`dlake.fdw_validator`) accepts these options, from the option table of')
w('`src/fdw/options.c`; any other name is refused with a hint naming the closest valid one.')
w('')
w('| option | object | value | documented in |')
w('|---|---|---|---|')
for n,cat,t in opts:
    o=OBJ[cat]; link=OPAGE[o]
    w(f'| `{n}` | {o} | {TYP[t]} | [{link.split("#")[0]}]({link}) |')
w('')
w('Foreign tables also have the pseudo-columns `_path` and `_size`')
w('([fdw.md](fdw.md#pseudo-columns)); `IMPORT FOREIGN SCHEMA ... FROM SERVER ... OPTIONS')
w("(location '...')` creates one table per folder ([fdw.md](fdw.md#import-foreign-schema-the-crawler));")
w('`INSERT` and `COPY FROM` write new files ([fdw.md](fdw.md#insert-and-copy-from)).')
w('Format options of a foreign table (`header`, `delimiter`, ...) mean what they mean in')
w('[formats.md](formats.md#format-options).')
w('')
w('## Roles and schemas')
w('')
w('| name | what |')
w('|---|---|')
w("| role `dlake_admin` | may use the server process's own AWS identity, create streams; reads the catalogs ([configuration.md](configuration.md#who-may-use-the-servers-own-aws-identity)) |")
w('| schema `dlake` | functions, catalog tables, views |')
w('| schemas `dlake_staging`, `dlake_cleansed`, `dlake_quarantine` | stream staging tables; rule set outputs |')
w('')
w('Performance figures of every feature: [benchmarks.md](benchmarks.md).')
open(os.path.join(DOCS,'reference.md'),'w').write('\n'.join(out))
