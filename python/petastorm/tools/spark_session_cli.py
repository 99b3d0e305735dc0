"""Spark session options shared by the command-line tools (Petastorm's
petastorm.tools.spark_session_cli): ``--master`` and ``--spark-session-config k=v ...``."""


def add_configure_spark_arguments(argparser):
    """Adds ``--master`` and ``--spark-session-config`` to `argparser`."""
    argparser.add_argument('--master', type=str,
                           help='Spark master. Default if not specified. To run on a local machine, specify '
                                '"local[W]" (where W is the number of local spark workers, e.g. local[10])')
    argparser.add_argument('--spark-session-config', type=str, nargs='+',
                           help='A list of "=" separated key-value pairs used to configure SparkSession object. '
                                'For example: --spark-session-config spark.executor.cores=2 spark.executor.memory=10g')


def configure_spark(spark_session_builder, args):
    """Applies ``args.master`` and ``args.spark_session_config`` to a SparkSession.Builder and
    returns it."""
    if 'spark_session_config' not in args or 'master' not in args:
        raise RuntimeError('--spark-session-config and/or --master were not found in parsed arguments. '
                           'Call add_configure_spark_arguments() to add them.')
    for key, value in _cli_spark_session_config_to_dict(args.spark_session_config).items():
        spark_session_builder.config(key, value)
    if args.master:
        spark_session_builder.master(args.master)
    return spark_session_builder


def _cli_spark_session_config_to_dict(spark_session_config):
    config = dict()
    for item in spark_session_config or ():
        key, sep, value = item.partition('=')
        if not sep or not key.strip():
            raise ValueError('--spark-session-config expects key=value pairs, got {!r}'.format(item))
        config[key.strip()] = value.strip()
    return config
