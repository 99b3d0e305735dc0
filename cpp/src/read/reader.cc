#include "petastorm/reader.h"

namespace petastorm {

arrow::Result<std::unique_ptr<Reader>> Reader::Open(std::shared_ptr<const Dataset> dataset,
                                                    ReaderOptions options) {
  if (!dataset->schema()) {
    return arrow::Status::Invalid(
        "'", dataset->url(), "' is not a Petastorm dataset (no Unischema in its metadata). "
        "make_reader reads only Petastorm datasets; to read a plain Parquet store use "
        "make_batch_reader");
  }
  if (options.num_epochs && *options.num_epochs <= 0) {
    return arrow::Status::Invalid("num_epochs must be a positive integer or None, got ",
                                  *options.num_epochs);
  }
  std::unique_ptr<Reader> reader(new Reader());
  reader->dataset_ = std::move(dataset);
  if (options.fields.empty()) {
    reader->schema_ = reader->dataset_->schema();
  } else {
    ARROW_ASSIGN_OR_RAISE(reader->schema_, reader->dataset_->schema()->View(options.fields));
  }
  reader->options_ = std::move(options);
  return reader;
}

arrow::Result<std::shared_ptr<const DecodedBatch>> Reader::Next() {
  const auto& row_groups = dataset_->row_groups();
  if (row_groups.empty()) return nullptr;
  if (position_ == row_groups.size()) {
    ++epoch_;
    position_ = 0;
  }
  if (options_.num_epochs && epoch_ >= *options_.num_epochs) return nullptr;
  const RowGroupRef ref = row_groups[position_];
  if (ref.file_index != open_file_index_) {
    open_file_.reset();
    open_file_index_ = -1;
    ARROW_ASSIGN_OR_RAISE(open_file_, dataset_->OpenFile(ref.file_index));
    open_file_index_ = ref.file_index;
  }
  ARROW_ASSIGN_OR_RAISE(auto batch, LoadRowGroup(*dataset_, schema_, ref, open_file_.get()));
  ++position_;
  return batch;
}

}  // namespace petastorm
