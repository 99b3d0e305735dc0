"""The Spark Dataset Converter: a Spark DataFrame to PyTorch or TensorFlow through Parquet."""
from petastorm.spark.spark_dataset_converter import SparkDatasetConverter, make_spark_converter  # noqa: F401
