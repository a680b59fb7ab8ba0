"""The YOLO worker: serves the detection queue that the workflow's
DetectObjects state feeds, one task token per image.

`service` builds the worker from settings; `worker` is the queue loop and each
message's steps, `heartbeat` keeps a task alive (and its message leased) while
it is worked on, `overlap` runs the network steps beside the model;
`detector` wraps the models (load once, detect, draw), on the runtimes of
`backends`, from the weights `weights` finds and `export` exports;
`__main__` runs the worker as a process.
"""
