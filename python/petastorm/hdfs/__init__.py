"""HDFS support (Petastorm's petastorm.hdfs): namenode resolution from the Hadoop configuration
and connection with failover, in :mod:`petastorm.hdfs.namenode`.

Importing this package imports neither pyarrow nor a Java runtime; those are needed only when
connecting (see ``petastorm.hdfs.namenode.HDFS_SETUP_HELP``).
"""
