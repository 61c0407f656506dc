# docmatrix's Python driver: runs the blocks of one job, in order, in one fresh `__main__`
# namespace, as `python block.py` would, and reports each block's fate on a file descriptor
# of its own, one JSON object a line, so that the snippet's own output stays untouched.
# Usage: python -I -c <this> RESULT_FILE STACK_FILE DUMP_AT BLOCK_FILE RAISES [BLOCK_FILE RAISES ...]
# (RAISES is an exception name, or "-"). Just before the job's timeout (DUMP_AT, a Unix time;
# 0 for never) faulthandler writes every thread's stack to STACK_FILE, so that a timeout can
# name the line the program was stuck on. Kept free of imports beyond `sys` and `os`, which
# every interpreter has loaded already, so the snippet sees a clean interpreter.
import sys, os


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


def _main():
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    dump_at = float(sys.argv[3])
    if dump_at > 0:
        import time

        dump_after = max(dump_at - time.time(), 0.001)
        import faulthandler

        stack_fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        faulthandler.dump_traceback_later(dump_after, file=stack_fd)
    args = sys.argv[4:]
    blocks = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
    files = set(b[0] for b in blocks)

    def emit(ev, i, **kw):
        fields = ['"ev":%s' % _q(ev), '"block":%d' % i]
        for k, v in kw.items():
            if v is None:
                continue
            if isinstance(v, int):
                fields.append('"%s":%d' % (k, v))
            elif isinstance(v, list):
                fields.append('"%s":[%s]' % (k, ",".join(_q(x) for x in v)))
            else:
                fields.append('"%s":%s' % (k, _q(v)))
        os.write(fd, ("{" + ",".join(fields) + "}\n").encode("utf-8", "backslashreplace"))

    main = type(sys)("__main__")
    ns = main.__dict__
    ns["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    sys.path.insert(0, os.getcwd())

    def matches(exc, name):
        for k in type(exc).__mro__:
            if name in (k.__name__, k.__module__ + "." + k.__qualname__):
                return True
        return False

    for i, (path, raises) in enumerate(blocks):
        raises = None if raises == "-" else raises
        sys.argv[:] = [path]
        ns["__file__"] = path
        emit("start", i)
        compiled = False
        try:
            with open(path, "rb") as f:
                code = compile(f.read(), path, "exec", dont_inherit=True)
            compiled = True
            exec(code, ns)
        except BaseException as e:
            tb = e.__traceback__
            if raises is not None and matches(e, raises):
                emit("ok", i)
                continue
            where = None
            while tb is not None:
                if tb.tb_frame.f_code.co_filename in files:
                    where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
                tb = tb.tb_next
            if isinstance(e, SystemExit):
                c = e.code
                status = 0 if c is None else (c if isinstance(c, int) else 1)
                emit("exit", i, code=status, message=None if c is None or isinstance(c, int) else str(c),
                     lineno=where and where[1], file=where and where[0])
                os.close(fd)
                raise
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
            emit("fail", i, type=type(e).__name__, message=msg, lineno=lineno, file=frame_file,
                 phase="compile" if not compiled else "run")
            import traceback
            traceback.print_exception(type(e), e, None if not compiled else e.__traceback__.tb_next)
            os.close(fd)
            sys.stderr.flush()
            raise SystemExit(1)
        if raises is not None:
            emit("noraise", i, type=raises)
            os.close(fd)
            sys.stderr.write("docmatrix: expected %s to be raised, but the block finished\n" % raises)
            raise SystemExit(1)
        emit("ok", i)
    os.close(fd)


_main()
del _main, _q
