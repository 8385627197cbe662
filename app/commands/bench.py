"""`kezhan bench [--json] [NAME ...]`: benchmarks, each beside a raw baseline from the same run."""

from __future__ import annotations

from app.commands.output import add_json_flag, emit


def register(sub) -> None:
    from app.bench.registry import BENCHMARKS

    parser = sub.add_parser("bench", help="run the benchmarks (each beside a raw baseline)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"which ones (default all): {', '.join(BENCHMARKS)}")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.bench.harness import format_table
    from app.bench.registry import BENCHMARKS, resolve
    from app.errors import ConfigError

    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        raise ConfigError(f"未知的基准测试：{', '.join(unknown)}", en=f"unknown benchmark: {', '.join(unknown)}")
    figures = []
    for name in args.names or list(BENCHMARKS):
        fn = resolve(name)
        if fn is None:
            continue
        figures.append(fn())
    emit(args, [f.to_json() for f in figures], format_table(figures))
    return 0
