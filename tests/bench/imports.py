# SPDX-License-Identifier: GPL-2.0-only
# The python row of `make bench`: start-up work of a Python function, imports of
# 80-odd standard library modules (source, bytecode caches and C extensions).
# Run with PYTHONHOME at the tree under test, -S (no site-packages) and -B (no
# bytecode written back); prints how many imported and the modules loaded, which
# the benchmark compares with native before it times anything.
import sys

MODULES = """
json http.client email.mime.multipart xml.etree.ElementTree asyncio logging.handlers
unittest argparse decimal sqlite3 csv ssl urllib.request concurrent.futures
multiprocessing tarfile zipfile shutil tempfile subprocess socket selectors hashlib
hmac uuid datetime calendar pathlib pickle typing dataclasses enum inspect ast dis
difflib textwrap pprint statistics random fractions heapq bisect queue sched
contextvars ipaddress mimetypes base64 binascii codecs gzip bz2 lzma configparser
getopt gettext locale platform sysconfig pydoc doctest trace timeit cProfile pstats
wave colorsys html.parser xmlrpc.client ftplib smtplib imaplib poplib
wsgiref.simple_server curses readline rlcompleter encodings.idna encodings.punycode
""".split()

ok = 0
for name in MODULES:
    try:
        __import__(name)
        ok += 1
    except ImportError:
        pass
print(ok, len(sys.modules))
