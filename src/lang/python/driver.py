# docmatrix's Python driver. It runs the blocks of one job, in order, in one fresh `__main__`
# namespace, as `python block.py` would, and reports each block's fate on a file descriptor of
# its own, one JSON object a line, so that the snippet's own output stays untouched.
#
#   python -I -c <this> run JOB_DIR DUMP_AT RAISES [RAISES ...]
#       runs JOB_DIR/block_0.py, block_1.py, ... (RAISES is an exception name or "-" per
#       block, or ">>>" for an interactive session, ">>>sphinx" for MyST's {doctest}), whose
#       statements run one by one as the doctest module runs them, their output compared),
#       reporting to JOB_DIR/events.jsonl.
#       Top-level `await` runs on an event loop of the job's, as `python -m asyncio` allows.
#       JOB_DIR/setup.py, if there, runs first in the same namespace (the config's `setup`);
#       with a file JOB_DIR/page the job is a page: a block that fails does not stop the ones
#       after it, and a later NameError names the failed block that would have bound the name
#       (`after`). Just before the job's timeout (DUMP_AT, a Unix time; 0 for never)
#       faulthandler writes every thread's stack to JOB_DIR/stack.txt, so that a timeout can
#       name the line the program was stuck on.
#   python -I -c <this> serve PRELOAD MODE [STATEMENTS]
#       a warm worker: imports the comma-separated standard-library modules of PRELOAD (those
#       that import silently), replays the import statements of the file STATEMENTS that import
#       cleanly (each tried first in a forked probe child: no exception, warning or output, no
#       file, thread, process, path, hook, environment, filter or signal change), writing what
#       became of each to preimported.txt beside it, says `ready`, then forks one child per request read on stdin,
#       one job at a time, in the job folder whose work/ and tmp/ are its HOME and TMPDIR.
#       After each job it kills what the job left (its process group; with MODE `isolated`,
#       alone in a sandbox's PID namespace, every other process there) and empties work/,
#       tmp/ (and, isolated, the sandbox's /tmp and /dev/shm) before reporting the status:
#         run \t ID \t JOB_DIR \t DUMP_AT \t RAISES ...   the child runs the job with its
#             stdout and stderr on the FIFOs JOB_DIR/out and JOB_DIR/err, in JOB_DIR/work;
#             when it ends, its wait status and CPU time (user + system, in microseconds,
#             from wait4) are written to the FIFO JOB_DIR/status, followed by `retire` when
#             something of the job could not be killed or removed: the worker then ends
#         dump \t ID                                        the child writes its stacks
#             to JOB_DIR/stack.txt (SIGUSR1 to faulthandler), before a timeout's kill
#         kill \t ID                                        kills the child's process group
#       End of input kills every child and ends the worker.
#
# Only `sys` and `os` (loaded by every interpreter) are imported up front, so that a snippet
# sees a clean interpreter.
import sys, os

_SIGUSR1 = 10  # Linux


def _q(s):
    out = []
    for c in str(s):
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c < " " or "\ud800" <= c <= "\udfff":
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _emit(fd, ev, i, **kw):
    """Writes one event line: the block's fate and what is known of it."""
    fields = ['"ev":%s' % _q(ev), '"block":%d' % i]
    for k, v in kw.items():
        if v is None:
            continue
        if isinstance(v, int):
            fields.append('"%s":%d' % (k, v))
        else:
            fields.append('"%s":%s' % (k, _q(v)))
    os.write(fd, ("{" + ",".join(fields) + "}\n").encode("utf-8", "backslashreplace"))


def _display(e):
    """Prints an uncaught exception as the interpreter does (Python/pythonrun.c)."""
    hook = getattr(sys, "excepthook", _display)
    if hook is _display:
        try:
            sys.stderr.write("sys.excepthook is missing\n")
        except BaseException:
            pass
        sys.__excepthook__(type(e), e, e.__traceback__)
        return
    try:
        hook(type(e), e, e.__traceback__)
    except BaseException as h:
        # The interpreter calls the hook outside any handler: no context, no frame of ours.
        if h.__context__ is e:
            h.__context__ = None
        if h.__traceback__ is not None:
            h.__traceback__ = h.__traceback__.tb_next
        try:
            sys.stderr.write("Error in sys.excepthook:\n")
            sys.__excepthook__(type(h), h, h.__traceback__)
            sys.stderr.write("\nOriginal exception was:\n")
            sys.__excepthook__(type(e), e, e.__traceback__)
        except BaseException:
            pass


def _matches(exc, name):
    """Whether exc is an instance of the class called name (bare or module-qualified)."""
    for k in type(exc).__mro__:
        if name in (k.__name__, k.__module__ + "." + k.__qualname__):
            return True
    return False


def _exit_code(e):
    """The exit status of an uncaught SystemExit, printing its message as Python does."""
    c = e.code
    if c is None:
        return 0
    if isinstance(c, int):
        return c
    try:
        sys.stderr.write(str(c) + "\n")
    except BaseException:
        pass
    return 1


def _read_all(fd):
    """What is left to read from fd, as bytes."""
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (3.8+), without importing ast
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE: the code awaits at top level
_LOOP = []  # the job's event loop for top-level `await`, made at its first use


def _compile(path):
    """A block's code object, or the exception compiling it raised."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            source = _read_all(fd)
        finally:
            os.close(fd)
        return compile(source, path, "exec", _TOP_LEVEL_AWAIT, dont_inherit=True)
    except BaseException as e:
        return e


def _exec(code, ns, *_):
    """Runs `code` in `ns`; code that awaits at top level runs on the job's event loop, which
    stays for the blocks and session statements after it, as in `python -m asyncio`."""
    if not code.co_flags & _CO_COROUTINE:
        exec(code, ns)
        return
    if not _LOOP:
        import asyncio

        _LOOP.append(asyncio.new_event_loop())
        asyncio.set_event_loop(_LOOP[0])
    _LOOP[0].run_until_complete(eval(code, ns))


def _binds(source):
    """The names a block's top-level code binds (assignments, definitions, imports, loop and
    `with` targets), outside function and class bodies: on a page, what a later block may miss
    when this one fails before binding them."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            todo.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add(a.asname or a.name.split(".")[0])
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, ast.Lambda):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return names


def _missing(e, undefined):
    """On a page: the earlier block that failed before binding the name a NameError is about."""
    if type(e) is not NameError or not undefined:
        return None
    name = getattr(e, "name", None)  # 3.10+
    if name is None:
        parts = str(e).split("'")
        name = parts[1] if len(parts) > 2 else None
    return undefined.get(name)


def _exception_lines(got):
    """The exception lines (type and message) of the last traceback in `got`, doctest's output
    of a statement that raised: what follows the stack's indented lines."""
    lines = got.splitlines(True)
    start = 0
    for n, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last):"):
            start = n + 1
    while start < len(lines) and lines[start][:1] in (" ", "\t"):
        start += 1
    return "".join(lines[start:])


def _session(path, ns, fd, i, undefined=None, sphinx=False):
    """Runs the interactive session in `path` statement by statement in `ns`, as the doctest
    module does (ELLIPSIS and NORMALIZE_WHITESPACE on, `# doctest:` directives honoured); 0
    when every statement printed what the page shows, else 1 after reporting the first that
    did not. A `sphinx` session (MyST's `{doctest}`) runs as Sphinx's doctest extension runs
    it: IGNORE_EXCEPTION_DETAIL on too, and no `__name__` in the namespace (a class defined
    there prints as `<class 'A'>`)."""
    import doctest

    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    try:
        test = doctest.DocTestParser().get_doctest(text, {}, "session", path, 0)
    except ValueError as e:
        # "line 3 of the docstring for session has inconsistent leading whitespace: ..."
        words = str(e).split()
        line = int(words[1]) if len(words) > 1 and words[0] == "line" and words[1].isdigit() else None
        _emit(fd, "fail", i, type="ValueError", message=str(e).replace("the docstring for session", "the session"),
              lineno=line, file=path, phase="compile")
        return 1
    test.globs = ns  # the job's namespace, not the copy DocTest makes
    found = []

    class Runner(doctest.DocTestRunner):
        def report_start(self, out, test, example):
            pass

        def report_success(self, out, test, example, got):
            pass

        def report_failure(self, out, test, example, got):
            found.append((example, got, None))

        def report_unexpected_exception(self, out, test, example, exc_info):
            found.append((example, None, exc_info))
            if undefined is not None:
                for name in _binds(example.source) - set(ns):
                    undefined[name] = i

    earlier = dict(undefined or {})  # the blocks before this one that failed
    future = doctest._extract_future_flags(ns)  # what `from __future__` the job imported
    doctest.exec = _exec  # doctest's own `exec` call, so that top-level `await` runs too
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    if sphinx:
        flags |= doctest.IGNORE_EXCEPTION_DETAIL  # Sphinx's doctest_default_flags
        name = ns.pop("__name__", None)
    runner = Runner(optionflags=flags)
    try:
        runner.run(test, compileflags=future | _TOP_LEVEL_AWAIT, out=lambda s: None, clear_globs=False)
    finally:
        if sphinx and name is not None:
            ns["__name__"] = name
    if not found:
        return 0
    example, got, exc_info = found[0]
    more = len(found) - 1
    if exc_info is None:
        import difflib

        want = example.want
        if example.exc_msg is not None:
            # An expected exception that came with another message, or another exception:
            # compare the exception lines, not the page's `...` with the version's stack.
            want, got = example.exc_msg, _exception_lines(got)
        diff = []
        for line in difflib.ndiff(want.splitlines(), got.splitlines()):
            if line[:1] in "-+ ":
                diff.append(line[0] + line[2:])
        _emit(fd, "differs", i, lineno=example.lineno + 1, file=path, diff="\n".join(diff), more=more)
    else:
        e = exc_info[1]
        try:
            msg = str(e)
        except BaseException:
            msg = "<unprintable %s>" % type(e).__name__
        _emit(fd, "fail", i, type=type(e).__name__, message=msg, lineno=example.lineno + 1, file=path,
              phase="run", more=more, after=_missing(e, earlier))
        import traceback

        tb = exc_info[2].tb_next if exc_info[2] is not None else None
        sys.stderr.write("".join(traceback.format_exception(type(e), e, tb)))
    return 1


def _run(job_dir, dump_at, raises_list):
    """Runs the job's blocks; returns the process's exit status."""
    fd = os.open(job_dir + "/events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if dump_at != 0:
        import faulthandler

        stack_fd = os.open(job_dir + "/stack.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if dump_at > 0:
            import time

            faulthandler.dump_traceback_later(max(dump_at - time.time(), 0.001), file=stack_fd)
        else:
            # Warm children: the worker sends SIGUSR1 when the job times out (no timer thread).
            faulthandler.register(_SIGUSR1, file=stack_fd, all_threads=True)
    blocks = [(job_dir + "/block_%d.py" % i, r) for i, r in enumerate(raises_list)]
    files = set(b[0] for b in blocks)
    # A page: every block runs, whatever became of the ones before (their names, missing when
    # they failed, are remembered so that a later NameError can say which block to look at).
    page = os.path.exists(job_dir + "/page")
    undefined = {} if page else None  # name -> the failed block that would have bound it
    status = 0

    main = type(sys)("__main__")
    ns = main.__dict__
    ns["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    sys.path.insert(0, os.getcwd())

    setup = job_dir + "/setup.py"
    if os.path.exists(setup):
        sys.argv[:] = [setup]
        ns["__file__"] = setup
        code = _compile(setup)
        try:
            if isinstance(code, BaseException):
                raise code.with_traceback(None)
            _exec(code, ns)
        except BaseException as e:
            # No block can be judged without the setup the docs assume: each fails with it.
            try:
                msg = e.msg if isinstance(e, SyntaxError) else str(e)
            except BaseException:
                msg = "<unprintable %s>" % type(e).__name__
            for i in range(len(blocks)):
                _emit(fd, "fail", i, type=type(e).__name__, message=msg, phase="setup",
                      lineno=e.lineno if isinstance(e, SyntaxError) else None)
            t = None if isinstance(code, BaseException) else e.__traceback__
            while t is not None and t.tb_frame.f_code.co_filename != setup:
                t = t.tb_next
            e.__traceback__ = t
            _display(e)
            os.close(fd)
            return 1

    for i, (path, raises) in enumerate(blocks):
        session = raises.startswith(">>>")
        sphinx = raises == ">>>sphinx"
        raises = None if raises == "-" or session else raises
        sys.argv[:] = [path]
        try:  # the program's arguments (`args=`), each ended by a NUL
            with open(path + ".args", "rb") as f:
                sys.argv += [a.decode("utf-8", "surrogateescape") for a in f.read().split(b"\0")[:-1]]
        except FileNotFoundError:
            pass
        ns["__file__"] = path
        os.write(fd, b'{"ev":"start","block":%d}\n' % i)
        if session:
            if _session(path, ns, fd, i, undefined, sphinx):
                if page:
                    status = 1
                    continue
                os.close(fd)
                return 1
            os.write(fd, b'{"ev":"ok","block":%d}\n' % i)
            continue
        compiled = False
        try:
            code = _compile(path)
            if isinstance(code, BaseException):
                raise code.with_traceback(None)
            compiled = True
            _exec(code, ns)
        except BaseException as e:
            tb = e.__traceback__
            if raises is not None and _matches(e, raises):
                os.write(fd, b'{"ev":"ok","block":%d}\n' % i)
                continue
            if page and compiled:
                with open(path, "rb") as f:
                    for name in _binds(f.read()) - set(ns):
                        undefined[name] = i
            where = None
            while tb is not None:
                if tb.tb_frame.f_code.co_filename in files:
                    where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
                tb = tb.tb_next
            if isinstance(e, SystemExit):
                c = e.code
                code = _exit_code(e)
                _emit(fd, "exit", i, code=code, message=None if c is None or isinstance(c, int) else str(c),
                     lineno=where and where[1], file=where and where[0])
                if page:
                    status = status or code
                    continue
                os.close(fd)
                return code
            if where is not None:
                frame_file, lineno = where
            else:
                frame_file, lineno = path, None
            if not compiled and isinstance(e, SyntaxError):
                lineno = e.lineno
            try:
                msg = str(e)
            except BaseException:
                msg = "<unprintable %s>" % type(e).__name__
            if isinstance(e, SyntaxError) and not compiled:
                msg = e.msg
            _emit(fd, "fail", i, type=type(e).__name__, message=msg, lineno=lineno, file=frame_file,
                 phase="compile" if not compiled else "run", after=_missing(e, undefined))
            # Shown as the interpreter shows an uncaught exception (without the driver's frame):
            # through sys.excepthook, the snippet's own if it set one. Its C default prints what
            # `python block.py` prints (the traceback module differs on 3.9 to 3.12) and imports
            # nothing (the traceback module cost a failing child 1.3 to 2.2 ms).
            if compiled:
                # From the block's first frame: not the driver's, nor the event loop's of a block
                # that awaits at top level.
                first = e.__traceback__.tb_next
                t = first
                while t is not None and t.tb_frame.f_code.co_filename not in files:
                    t = t.tb_next
                e.__traceback__ = t or first
            else:
                e.__traceback__ = None
            _display(e)
            if page:
                status = 1
                continue
            os.close(fd)
            return 1
        if raises is not None:
            _emit(fd, "noraise", i, type=raises)
            sys.stderr.write("docmatrix: expected %s to be raised, but the block finished\n" % raises)
            if page:
                status = 1
                continue
            os.close(fd)
            return 1
        os.write(fd, b'{"ev":"ok","block":%d}\n' % i)
    os.close(fd)
    return status


def _child(job_dir, dump_at, raises_list):
    """In a forked child of the worker: becomes the job's process, then ends as an interpreter
    ends (non-daemon threads joined, atexit handlers run, streams flushed)."""
    code = 1
    worker_had = len(sys.modules)
    try:
        os.setpgid(0, 0)
        out = os.open(job_dir + "/out", os.O_WRONLY)
        err = os.open(job_dir + "/err", os.O_WRONLY)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        # Close what the worker had open (its pidfds). From 3.10 closerange is one close_range
        # call; 3.9 closes every possible descriptor one by one, so there listing is cheaper.
        if sys.version_info >= (3, 10):
            os.closerange(3, 1 << 20)
        else:
            for name in os.listdir("/proc/self/fd"):
                if int(name) > 2:
                    try:
                        os.close(int(name))
                    except OSError:
                        pass
        os.chdir(job_dir + "/work")
        try:
            code = _run(job_dir, dump_at, raises_list)
        except SystemExit as e:
            code = _exit_code(e)
        if _LEARN and len(sys.modules) > worker_had:
            _loaded(job_dir, len(sys.modules) - worker_had)
        threading = sys.modules.get("threading")
        if threading is not None:
            try:
                threading._shutdown()
            except BaseException:
                pass
        # Handlers are registered through the atexit module: when nothing imported it, there
        # are none, and importing it here would cost a fifth of a null job's time.
        atexit = sys.modules.get("atexit")
        if atexit is not None:
            try:
                atexit._run_exitfuncs()
            except BaseException:
                pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
    finally:
        os._exit(code)


_FILLER = []  # the worker's: holds what _fill_pools allocated, for the worker's life


def _malloc_stats():
    """What `sys._debugmallocstats()` prints to fd 2, as bytes (through a memfd standing in for
    fd 2); None where it cannot be read."""
    stats = getattr(sys, "_debugmallocstats", None)
    if stats is None or not hasattr(os, "memfd_create"):
        return None
    try:
        fd = os.memfd_create("docmatrix-mallocstats")
    except OSError:
        return None
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 to stand in for
        os.close(fd)
        return None
    try:
        os.dup2(fd, 2)
        try:
            stats()
        finally:
            os.dup2(saved, 2)
        os.lseek(fd, 0, 0)
        return _read_all(fd)
    finally:
        os.close(saved)
        os.close(fd)


def _fill_pools():
    """Fills the free blocks of the allocator's partly used pools with objects the worker keeps.
    A child's new objects then go to fresh pools, one after another, instead of into free
    blocks scattered over pages it shares with the worker, each a copy-on-write fault: a
    dataclass job's worker and child 663 -> 548 faults on 3.12 (docs/benchmarks.md).
    `sys._debugmallocstats` says how many blocks of each size class are free; an object of
    exactly that size takes one."""
    text = _malloc_stats()
    if text is None:
        return
    # Nothing made from here on is freed: a block freed after the stats were read would be a
    # free block the fill did not count. The parsed table is kept, and so is each filler.
    lines = text.split(b"\n")  # kept too: freeing them would free blocks of their sizes
    _FILLER.append(lines)
    rows = [line.split() for line in lines]
    _FILLER.append(rows)
    # "class  size  num pools  blocks in use  avail blocks", the first table of the stats.
    rows = [f for f in rows if len(f) == 5 and all([x.isdigit() for x in f])]
    _FILLER.append(rows)
    for f in rows:
        size, avail = int(f[1]), int(f[4])
        if size == 16:
            _FILLER.append([object() for _ in range(avail)])
        elif size == 32:
            _FILLER.append([(1 << 31) + i for i in range(avail)])  # two 30-bit digits: 32 bytes
        elif size > 33:
            _FILLER.append([bytes(size - 33) for _ in range(avail)])  # 33 bytes + its length


def _empty(path, keep):
    """Removes everything inside the folder path but the folders of keep (the job folder, which
    can be under /tmp or /dev/shm, and the sandbox's own mounts there: _mounts_in) and the
    folders that lead to them; False if something could not be removed."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    ok = True
    for e in entries:
        if e.path in keep:
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                try:
                    os.chmod(e.path, 0o700)  # a folder the job made unreadable
                except OSError:
                    pass
                ok = _empty(e.path, keep) and ok
                lead = e.path + "/"
                if not any(k.startswith(lead) for k in keep):
                    os.rmdir(e.path)
            else:
                os.unlink(e.path)
        except OSError:
            ok = False
    return ok


def _mounts_in(top):
    """The mount points under the folder top (not top itself): the sandbox binds an
    environment or an interpreter kept under /tmp (`--cache-dir /tmp/…`) at its own path in
    its private /tmp, and emptying that /tmp between jobs must leave them and the folders that
    lead to them (the job cannot remove them either: they are read-only)."""
    found = []
    try:
        entries = list(os.scandir(top))
    except OSError:
        return found
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            if os.path.ismount(e.path):
                found.append(e.path)
            else:
                found += _mounts_in(e.path)
    return found


def _scratch_folders():
    """The job's HOME and TMPDIR, which the worker empties between jobs, and the worker's job
    folder that holds them. docmatrix makes both inside the worker's job folder
    (.../docmatrix-warm-.../wN/work and .../tmp); anything else ends the worker before it says
    `ready`: a worker started with a real HOME (by hand, by a script) must not empty it."""
    home, tmp = os.environ.get("HOME", ""), os.environ.get("TMPDIR", "")
    keep = os.path.dirname(home)
    if not (os.path.isabs(home) and os.path.isabs(tmp) and os.path.dirname(tmp) == keep
            and os.path.basename(os.path.dirname(keep)).startswith("docmatrix-")):
        sys.stderr.write("docmatrix worker: HOME (%r) and TMPDIR (%r) are not the scratch folders "
                         "of a docmatrix job folder; refusing to empty them\n" % (home, tmp))
        sys.exit(2)
    return [home, tmp], keep


def _alone_with_init():
    """Whether this process's parent is pid 1 and /proc shows no other process: a PID namespace
    of its own."""
    try:
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    except OSError:
        return False
    return os.getppid() == 1 and pids == sorted({1, os.getpid()})


def _kill_others(select):
    """Alone in a sandbox's PID namespace (bwrap's init is 1, the worker 2): kills every other
    process there (what a job started in a new session), and waits until they are gone (bwrap's
    init reaps them)."""
    for _ in range(1000):
        try:
            os.kill(-1, 9)
        except OSError:  # ESRCH: nobody left to signal
            return True
        select.select([], [], [], 0.001)
    return False


# What a module may change when it is imported, and the words that say it did.
_STATE_WORDS = (
    "opens a file or socket",
    "starts a thread",
    "starts a process",
    "changes sys.path",
    "changes sys.meta_path",
    "changes sys.path_hooks",
    "sets sys.excepthook",
    "sets sys.displayhook",
    "changes os.environ",
    "changes the working folder",
    "changes the warning filters",
    "sets a signal handler",
)
# The two hooks, whose new value is named in the word (`sets sys.excepthook (M.F)`): a statement
# whose only change is one of them is clean for the examples that run it themselves (a fresh
# interpreter running their head would set the same hook), and a worker given that word in its
# folder's `accept.txt` pre-imports it for them (docmatrix routes only such examples to it).
_HOOK_WORDS = ("sets sys.excepthook", "sets sys.displayhook")
_ACCEPT = None  # the word this worker accepts (accept.txt), or None


def _changed(before, after):
    """Why `after` (a _state) is not `before`: the first word of _STATE_WORDS whose part
    differs, a hook's with its new value named; "" when none does."""
    for word, a, b in zip(_STATE_WORDS, before, after):
        if a != b:
            if word in _HOOK_WORDS:
                name = "%s.%s" % (getattr(b, "__module__", None), getattr(b, "__qualname__", type(b).__name__))
                word = "%s (%s)" % (word, name)
            return word
    return ""


def _handler(signal, n):
    try:
        return signal.getsignal(n)
    except (ValueError, OSError):
        return None


def _state(signal, warnings):
    """What an import must leave as it found it, for _check."""
    tasks = os.listdir("/proc/self/task")
    kids = ""
    for t in tasks:
        try:
            with open("/proc/self/task/%s/children" % t) as f:
                kids += f.read()
        except OSError:
            pass
    return (
        sorted(os.listdir("/proc/self/fd")),
        len(tasks),
        kids.strip(),
        list(sys.path),
        list(sys.meta_path),
        list(sys.path_hooks),
        sys.excepthook,
        sys.displayhook,
        dict(os.environ),
        os.getcwd(),
        list(warnings.filters),
        [_handler(signal, n) for n in range(1, signal.NSIG)],
    )


def _check(stmt, out, signal, warnings, strict=False):
    """Runs the import statement `stmt` (in a probe child, whose output goes to the file `out`):
    "" when it imports cleanly (no exception, warning or output, and nothing of _STATE_WORDS
    changed), else why not. `strict`, for the modules a worker learns from its children (loaded
    lazily, in the middle of an example that may have set the environment first): reading an
    environment variable is not clean either."""
    signal.alarm(60)  # an import that hangs is not clean
    size = os.fstat(out).st_size
    before = _state(signal, warnings)
    reads = []
    if strict:
        # In the probe child only, which is thrown away: every Python-level read of os.environ
        # (getenv, get, `in`, [], copy, iteration) goes through these two.
        environ = type(os.environ)
        getitem, iterate = environ.__getitem__, environ.__iter__
        environ.__getitem__ = lambda self, key: (reads.append(key), getitem(self, key))[1]
        environ.__iter__ = lambda self: (reads.append("*"), iterate(self))[1]
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            exec(compile(stmt, "<preload>", "exec"), {"__name__": "__preload__"})
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as e:
        return "raises %s" % type(e).__name__
    finally:
        if strict:
            environ.__getitem__, environ.__iter__ = getitem, iterate
    if reads:
        return "reads the environment (%s)" % reads[0]
    if seen:
        return "warns (%s)" % seen[0].category.__name__
    if os.fstat(out).st_size != size:
        return "writes output"
    why = _changed(before, _state(signal, warnings))
    return "" if why == _ACCEPT else why


def _probe(statements, folder, strict=False):
    """Tries `statements` in order in a forked child, so that nothing of a failed attempt stays
    in the worker, up to the first that does not import cleanly: "" for each clean one, then
    why the first other one is not (fewer answers than statements: the child died there)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        import signal, warnings

        out = os.open(folder + "/probe.out", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for stmt in statements:
            try:
                why = _check(stmt, out, signal, warnings, strict)
            except BaseException as e:
                why = "cannot be checked (%s)" % type(e).__name__
            os.write(w, ("%s\n" % (why or "ok")).encode("utf-8", "backslashreplace"))
            if why:
                break
        os._exit(0)
    os.close(w)
    answers = _read_all(r).decode("utf-8", "replace").splitlines()
    os.close(r)
    os.waitpid(pid, 0)
    return ["" if a == "ok" else a for a in answers]


def _top(stmt):
    """The top-level module an import statement imports first (`a` of `from a.b import c`)."""
    return stmt.split()[1].split(".")[0].rstrip(",")


def _mute():
    """Points the worker's stdout at /dev/null while it imports (whatever an import prints must
    not reach docmatrix, which reads the worker's stdout): the descriptor to give back to
    _unmute."""
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    return saved


def _unmute(saved, folder):
    """Gives the worker its stdout back (after _mute) and removes the probes' output file."""
    sys.stdout.flush()
    os.dup2(saved, 1)
    os.close(saved)
    try:
        os.unlink(folder + "/probe.out")
    except OSError:
        pass


def _replay(path):
    """Replays the import statements of the file `path` (one a line) that import cleanly, so
    that forked children inherit what they load; writes what became of each to
    preimported.txt beside it.

    Each run of statements of one top-level module is preceded by a bare `import M` (not
    reported unless it is refused): every statement of M runs it first, so when it is not clean
    none of them is, for the same reason.

    The worker runs the statements itself, in order, each checked as it runs (_check_here):
    most are clean, and each is then imported once. One that only raised an ImportError no
    module's code raised (a name a package does not have, a package that is not installed),
    loading nothing that was not clean, is refused and leaves the worker as good as clean: it
    goes on. When one is not clean otherwise, the worker's state is
    spoiled: it writes what it knows to `path` (`# resume`) and starts again as a new process
    (exec, so it keeps its pid and its place in the sandbox), which imports the clean ones
    without checks (and runs the refused ones that went on again, for what they loaded) and
    tries the rest carefully: each in a probe child first, forked from the
    worker, a new probe child taking over after one that is not clean, so that a later
    statement is judged in the state the worker will be in. A first line `# careful` asks for
    that from the start (docmatrix does, when a worker died while checking).

    A file whose first line is `# checked` holds statements an earlier worker of this
    interpreter found clean, in the same order: they are run without checks."""
    global _ACCEPT
    folder = os.path.dirname(path)
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    try:
        with open(folder + "/accept.txt", encoding="utf-8") as f:
            _ACCEPT = f.read().strip() or None
    except OSError:
        pass
    mode = lines[0][2:] if lines and lines[0] in ("# checked", "# careful", "# resume") else ""
    statements = lines[1:] if mode else lines
    report = []
    saved = _mute()

    def note(stmt, why):
        report.append("no\t%s\t%s" % (stmt, why) if why else "ok\t%s" % stmt)

    if mode == "checked":
        for stmt in statements:
            note(stmt, _import_here(stmt))
    else:
        # (statement, reported), with the bare imports inserted.
        seq = []
        if mode == "resume":
            for line in statements:
                fields = line.split("\t")
                kind, reported, stmt = fields[0], fields[1] == "1", fields[2]
                if kind == "ok":
                    why = _import_here(stmt)
                    if reported:
                        note(stmt, why)
                elif kind == "raised":
                    # It raised and left the worker as good as clean (_check_here): run again for
                    # what it loaded, so that the statements after it run as they were checked.
                    try:
                        exec(compile(stmt, "<preload>", "exec"), {"__name__": "__preload__"})
                    except BaseException:
                        pass
                    if reported:
                        note(stmt, fields[3])
                elif kind == "no":
                    if reported:
                        note(stmt, fields[3] if len(fields) > 3 else "not clean")
                else:
                    seq.append((stmt, reported))
        else:
            for stmt in statements:
                top = _top(stmt)
                if not seq or _top(seq[-1][0]) != top:
                    seq.append(("import " + top, False))
                seq.append((stmt, True))
        if mode == "" and _can_check_here():
            _optimistic(seq, path, saved, note)
        else:
            _careful(seq, folder, note)
    _unmute(saved, folder)
    with open(folder + "/preimported.txt", "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in report))
    # What was refused here is not learned from the children either (they import it).
    for line in report:
        if line.startswith("no\t"):
            words = line.split("\t")[1].split()
            if len(words) > 1 and words[0] in ("import", "from"):
                _REFUSED.add(words[1].rstrip(","))


def _careful(seq, folder, note):
    """_replay's careful way: each statement of `seq` tried in a probe child first."""
    i = 0
    while i < len(seq):
        answers = _probe([stmt for stmt, _ in seq[i:]], folder)
        if not answers:
            answers = ["ended while importing"]
        for (stmt, reported), why in zip(seq[i:], answers):
            if not why:
                why = _import_here(stmt)
            if reported:
                note(stmt, why)
        i += len(answers)
        last, reported = seq[i - 1]
        if not reported and answers[-1]:
            # The bare import of a module is not clean: neither is any statement of it.
            top = _top(last)
            while i < len(seq) and _top(seq[i][0]) == top:
                if seq[i][1]:
                    note(seq[i][0], answers[-1])
                i += 1


def _can_check_here():
    """Whether this interpreter's `_warnings` lets _check_here see warnings without importing
    the `warnings` module into the worker."""
    w = sys.modules.get("_warnings")
    return w is not None and hasattr(w, "filters") and hasattr(w, "_filters_mutated")


def _check_here(stmt, out):
    """_check, in the worker itself: with only the modules every interpreter has loaded
    (`_signal`, `_warnings`), so that checking leaves nothing behind. Every warning is shown
    (an `always` filter first), and so is output: its first line names its category.

    Returns why the statement is not clean ("" when it is) and whether the worker may go on as
    it is: only when the statement is clean, or when all it did was raise an ImportError that no
    module's own code raised (a name the package does not have, through its `__getattr__` or
    not; a module that is not installed), every module it loaded having been imported whole and
    cleanly (no output, warning or change of state). The example that runs that statement
    raises the same error itself."""
    sig, w = sys.modules["_signal"], sys.modules["_warnings"]
    size = os.fstat(out).st_size
    always = ("always", None, Warning, None, 0)
    w.filters.insert(0, always)
    w._filters_mutated()
    before = _state(sig, w)
    raised = None
    sig.alarm(60)  # an import that hangs ends the worker: docmatrix starts a careful one
    try:
        exec(compile(stmt, "<preload>", "exec"), {"__name__": "__preload__"})
    except BaseException as e:
        raised = e
    finally:
        sig.alarm(0)
        # Also after an exception: what was printed before it counts, and must not stay in a
        # buffer to reach docmatrix later.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        after = _state(sig, w)
        try:
            w.filters.remove(always)
        except ValueError:
            pass
        w._filters_mutated()
    why = ""
    if os.fstat(out).st_size != size:
        os.lseek(out, size, 0)
        first = os.read(out, 4096).split(b"\n", 1)[0].decode("utf-8", "replace")
        # A shown warning: "FILE:LINE: CATEGORY: MESSAGE".
        parts = first.split(": ")
        if len(parts) >= 3 and parts[1].endswith("Warning") and parts[1].isidentifier():
            why = "warns (%s)" % parts[1]
        else:
            why = "writes output"
    else:
        why = _changed(before, after)
        if why == _ACCEPT:
            why = ""
    if raised is None:
        return why, not why
    keep = not why and isinstance(raised, ImportError) and not _in_module_code(raised)
    why = "raises %s" % type(raised).__name__
    raised = None  # its traceback holds the frames of the code that raised
    return why, keep


def _in_module_code(e):
    """Whether the exception `e` went through the code of a module being imported (its body),
    other than the import statement's own."""
    t = e.__traceback__
    while t is not None:
        code = t.tb_frame.f_code
        if code.co_name == "<module>" and code.co_filename != "<preload>":
            return True
        t = t.tb_next
    return False


def _optimistic(seq, path, saved, note):
    """_replay's first way: each statement of `seq` run and checked in the worker itself; at
    the first that is not clean, a restart (see _replay)."""
    out = os.open(os.path.dirname(path) + "/probe.out", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.dup(2)
    os.dup2(out, 1)
    os.dup2(out, 2)
    entries = []  # what became of each statement so far, as the resume file says it
    i = -1
    while i + 1 < len(seq):
        i += 1
        stmt, reported = seq[i]
        try:
            why, keep = _check_here(stmt, out)
        except BaseException as e:
            why, keep = "cannot be checked (%s)" % type(e).__name__, False
        if keep:
            if reported:
                note(stmt, why)
            if why:
                entries.append("raised\t%d\t%s\t%s" % (reported, stmt, why))
            else:
                entries.append("ok\t%d\t%s" % (reported, stmt))
            if why and not reported:
                # The bare import of a module raised (it is not installed, say): so does every
                # statement of it.
                while i + 1 < len(seq) and _top(seq[i + 1][0]) == _top(stmt):
                    i += 1
                    if seq[i][1]:
                        note(seq[i][0], why)
                    entries.append("no\t%d\t%s\t%s" % (seq[i][1], seq[i][0], why))
            continue
        entries.append("no\t%d\t%s\t%s" % (reported, stmt, why))
        rest = seq[i + 1 :]
        if not reported:
            # The bare import of a module is not clean: neither is any statement of it.
            top = _top(stmt)
            while rest and _top(rest[0][0]) == top:
                entries.append("no\t%d\t%s\t%s" % (rest[0][1], rest[0][0], why))
                rest = rest[1:]
        entries += ["try\t%d\t%s" % (r, s) for s, r in rest]
        with open(path, "w", encoding="utf-8") as f:
            f.write("# resume\n" + "".join(e.replace("\n", " ") + "\n" for e in entries))
        os.dup2(saved, 1)
        os.dup2(err, 2)
        with open("/proc/self/cmdline", "rb") as f:
            argv = f.read().split(b"\0")[:-1]
        program = argv[0] if argv[0].startswith(b"/") else os.fsencode(sys.executable)
        os.execv(program, argv)
    os.dup2(err, 2)
    os.close(err)
    os.close(out)


# A worker that replays the examples' imports also learns, from its children, the modules they
# loaded on first use (a library's lazily imported parts: SQLAlchemy's SQLite dialect at
# `create_engine`, pydantic's root model), and imports them itself, so that later children
# inherit them: the names it has (a set, updated as it learns; None: it does not learn), the
# folders the modules it may learn come from, and the ones it refused.
_LEARN = None
_LEARN_FROM = ()
_REFUSED = set()
_PENDING = []  # names to learn that a round left for the next (_learn)


def _loaded(job_dir, new):
    """In a child, after the job: writes the names of the modules it loaded that the worker does
    not have, from the interpreter's own folders (standard library, environment; never the
    job's), in the order they were loaded, to JOB_DIR/modules.

    `new`: how many more modules the child has than the worker had. They are the last ones of
    sys.modules (a dict keeps the order keys were added in), read from its end: every module
    object the child reads is a page it copies (its reference count changes), and a job that
    loaded nothing new (the most) reads none."""
    names = []
    try:
        newest = reversed(sys.modules)
        for name in reversed([next(newest) for _ in range(new)]):
            if name in _LEARN or name in _REFUSED or name == "__main__":
                continue
            m = sys.modules.get(name)
            origin = getattr(getattr(m, "__spec__", None), "origin", None)
            if origin in ("built-in", "frozen") or (
                type(origin) is str and origin.startswith(_LEARN_FROM)
            ):
                names.append(name)
        if names:
            fd = os.open(
                job_dir + "/modules",
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK,
                0o600,
            )
            try:
                os.write(fd, "\n".join(names).encode("utf-8", "backslashreplace"))
            finally:
                os.close(fd)
    except BaseException:
        pass


def _is_name(name):
    return name != "" and all(part.isidentifier() for part in name.split("."))


def _read_loaded(job_dir):
    """In the worker, after a job: the modules its child said it loaded (JOB_DIR/modules, which
    goes) that the worker has not had or refused, for _learn."""
    path = job_dir + "/modules"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        data = os.read(fd, 1 << 20)
    except OSError:
        return []
    finally:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
    names = []
    for name in data.decode("utf-8", "replace").split("\n"):
        if _is_name(name) and name not in _LEARN and name not in _REFUSED and name not in names:
            names.append(name)
    return names


def _refused_package(name):
    """The package of `name` (`a` or `a.b` of `a.b.c`) that the worker refused and does not have,
    if any: importing `name` imports it first, so `name` is not clean either. (A package named
    by a refused statement, `pydantic` of `from pydantic import BaseSettings`, may well be
    imported: its modules are tried.)"""
    parts = name.split(".")
    for i in range(1, len(parts)):
        package = ".".join(parts[:i])
        if package in _REFUSED and package not in sys.modules:
            return package
    return None


def _learn(names, job_dir, gc):
    """In the worker, between jobs: imports the modules `names` (with those an earlier round left
    pending) that import cleanly, each checked first in a probe child, strictly (_check), and
    appends what became of each to JOB_DIR/learned/log.txt (`ok NAME` or `no NAME WHY`), which
    docmatrix reads for the report.

    One probe child a round: it tries the names in order up to the first that is not clean, and
    the rest wait for the next round (after the next job). The next job's time runs while the
    worker learns, and a library whose every submodule is not clean (each imports the package
    that reads the environment) would take a probe child each, a package import each: all of
    them at once delayed a job past its timeout. A module of a refused package is refused
    without a probe."""
    report = []
    for name in names:
        if name not in _PENDING:
            _PENDING.append(name)
    todo = []
    for name in _PENDING:
        if name in sys.modules or name in _REFUSED:
            continue
        package = _refused_package(name)
        if package is not None:
            _REFUSED.add(name)
            report.append("no\t%s\t%s" % (name, "its package %s is not clean" % package))
            continue
        todo.append(name)
    del _PENDING[:]
    saved = _mute()
    try:
        if todo:
            answers = _probe(["import " + n for n in todo], job_dir, strict=True)
            if not answers:
                answers = ["ended while importing"]
            for name, why in zip(todo, answers):
                if not why:
                    why = _import_here("import " + name)
                if why:
                    _REFUSED.add(name)
                    report.append("no\t%s\t%s" % (name, why))
                else:
                    report.append("ok\t%s" % name)
            _PENDING.extend(todo[len(answers):])
    finally:
        _unmute(saved, job_dir)
    _LEARN.update(sys.modules)
    gc.collect()
    _fill_pools()
    gc.freeze()
    try:
        fd = os.open(job_dir + "/learned/log.txt",
                     os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, "".join(line + "\n" for line in report).encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except OSError:
        pass


def _import_here(stmt):
    """Runs an import statement in the worker: "" when it imported, else why not (what it
    loaded before failing is forgotten)."""
    before = set(sys.modules)
    try:
        exec(compile(stmt, "<preload>", "exec"), {"__name__": "__preload__"})
    except BaseException as e:
        for m in set(sys.modules) - before:
            del sys.modules[m]
        return "raises %s" % type(e).__name__
    return ""


def _serve(preload, mode, statements=None):
    import select

    if preload:
        import warnings

        for name in preload.split(","):
            before = set(sys.modules)
            try:
                with warnings.catch_warnings(record=True) as seen:
                    warnings.simplefilter("always")
                    __import__(name)
                clean = not seen
            except BaseException:
                clean = False
            if not clean:
                # Not silent on this version: leave it for the snippet to import.
                for m in set(sys.modules) - before:
                    del sys.modules[m]
    global _LEARN, _LEARN_FROM
    if statements:
        _replay(statements)
        _LEARN_FROM = tuple(
            sorted(set(os.path.join(p, "") for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)))
        )
        try:
            os.mkdir(os.path.dirname(statements) + "/learned", 0o700)
        except OSError:
            pass
    import gc
    import faulthandler  # built in; every child registers its stack dump with it

    if statements:
        _LEARN = set(sys.modules)
    gc.collect()
    _fill_pools()
    gc.freeze()  # children then leave the worker's objects alone: fewer copy-on-write faults
    # The loop below runs between forks, and after a fork every page the worker writes costs a
    # copy-on-write fault (about 2 us here): it calls C functions, not Python helpers, so that
    # it touches few objects (os.path.join, os.environ[...] = ..., open() each touch dozens).
    poller = select.poll()
    poller.register(0, select.POLLIN)
    children = {}  # pidfd -> (id, pid, job_dir)
    pids = {}  # id -> pid
    # Alone in the sandbox's PID namespace with its init (bwrap's, pid 1, the worker pid 2; a
    # container's, the worker some low pid after the runtime's own). Killing "every other
    # process" anywhere else would be a disaster: both must hold.
    isolated = mode == "isolated" and _alone_with_init()
    scratch, keep = _scratch_folders()
    keep = (keep,)
    if isolated:
        scratch += ["/tmp", "/dev/shm"]
        keep += tuple(m for d in ("/tmp", "/dev/shm") for m in _mounts_in(d) if m != keep[0])
    scratch = [d for d in scratch if os.path.isdir(d)]
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    sys.stderr.flush()  # nothing is written to either after this: children inherit no buffer
    pending = b""
    while True:
        for fd, _ in poller.poll():
            if fd != 0:
                job_id, pid, job_dir = children.pop(fd)
                poller.unregister(fd)
                os.close(fd)
                pids.pop(job_id, None)
                _, status, usage = os.wait4(pid, 0)
                try:
                    os.killpg(pid, 9)
                except OSError:
                    pass
                # The next job starts clean: nothing of this one left running or on disk.
                clean = _kill_others(select) if isolated else True
                loaded = _read_loaded(job_dir) if _LEARN else None
                for d in scratch:
                    clean = _empty(d, keep) and clean
                # `retire`: docmatrix must not hand this worker another job (it would be lost,
                # and run again in a fresh process) but start another worker.
                try:
                    s = os.open(job_dir + "/status", os.O_WRONLY | os.O_NONBLOCK)
                    cpu = int((usage.ru_utime + usage.ru_stime) * 1e6)
                    os.write(s, b"%d %d%s\n" % (status, cpu, b"" if clean else b" retire"))
                    os.close(s)
                except OSError:
                    pass
                if not clean:
                    return
                if loaded or _PENDING:
                    _learn(loaded or [], job_dir, gc)
                continue
            data = os.read(0, 65536)
            if not data:
                for pid in pids.values():
                    try:
                        os.killpg(pid, 9)
                    except OSError:
                        pass
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            requests = [line.decode("utf-8", "surrogateescape").split("\t") for line in lines]
            for fields in requests:
                if fields[0] == "run":
                    job_id, job_dir, dump_at = fields[1], fields[2], float(fields[3])
                    raises_list = fields[4:]
                    pid = os.fork()
                    if pid == 0:
                        _child(job_dir, dump_at, raises_list)
                    pidfd = os.pidfd_open(pid)
                    children[pidfd] = (job_id, pid, job_dir)
                    pids[job_id] = pid
                    poller.register(pidfd, select.POLLIN)
                elif fields[0] == "dump":
                    pid = pids.get(fields[1])
                    if pid is not None:
                        try:
                            os.kill(pid, _SIGUSR1)
                        except OSError:
                            pass
                elif fields[0] == "kill":
                    pid = pids.get(fields[1])
                    if pid is not None:
                        try:
                            os.killpg(pid, 9)
                        except OSError:
                            pass


if sys.argv[1] == "serve":
    _serve(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
else:
    _code = _run(sys.argv[2], float(sys.argv[3]), sys.argv[4:])
    del _run, _q, _child, _serve
    if _code:
        sys.exit(_code)
