"""BatchedDataLoader's hand-off to an accelerator: pinned host memory and device copies one
batch ahead (``pin_memory=``, ``device=``)."""
import warnings


def _map_tensors(batch, f, torch):
    """`batch` with f applied to its tensors, in dicts (collated fields) too."""
    if isinstance(batch, torch.Tensor):
        return f(batch)
    if isinstance(batch, dict):
        return {name: _map_tensors(value, f, torch) for name, value in batch.items()}
    return batch


def hand_off(batches, pin_memory, device, progress):
    """Yields `batches` (dicts of tensors and lists) pinned and/or on `device`. `progress()` is
    the loader's PassProgress (or None): with copies one batch ahead, the state saved is that of
    the batch returned, not of the one being copied."""
    import torch
    target = torch.device(device) if device is not None else None
    cuda = target is not None and target.type == 'cuda'
    if cuda and not torch.cuda.is_available():
        raise RuntimeError("BatchedDataLoader: device={!r}, but torch finds no CUDA device".format(device))
    if pin_memory and not torch.cuda.is_available():
        warnings.warn("BatchedDataLoader: pin_memory=True, but no accelerator is found: the batches' tensors "
                      'stay in pageable memory')
        pin_memory = False
    if not cuda:
        for batch in batches:
            if pin_memory:
                batch = _map_tensors(batch, lambda t: t.pin_memory(), torch)
            if target is not None:
                batch = _map_tensors(batch, lambda t: t.to(target), torch)
            yield batch
        return
    stream = torch.cuda.Stream(target)
    pending = None  # (the batch on the device, its copy's event, the host batch, the counters)
    for batch in batches:
        counters = progress().counters() if progress() is not None else None
        with torch.cuda.stream(stream):
            host = _map_tensors(batch, lambda t: t if t.is_pinned() else t.pin_memory(), torch)
            on_device = _map_tensors(host, lambda t: t.to(target, non_blocking=True), torch)
            event = torch.cuda.Event()
            event.record(stream)
        if pending is not None:
            yield _returned(pending, target, progress, torch)
        pending = (on_device, event, host, counters)  # the host batch stays alive until its copy is done
    if pending is not None:
        p = progress()
        yield _returned(pending, target, progress, torch)
        if p is not None:
            p.returned = None


def _returned(pending, target, progress, torch):
    on_device, event, _, counters = pending
    current = torch.cuda.current_stream(target)
    current.wait_event(event)
    for value in on_device.values():
        if isinstance(value, torch.Tensor):
            value.record_stream(current)  # its memory is not reused before the compute on it is done
    p = progress()
    if p is not None:
        p.returned = counters
    return on_device
