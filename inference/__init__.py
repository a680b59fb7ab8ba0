"""The YOLO worker: serves the detection queue that the workflow's
DetectObjects state feeds, one task token per image.

`detector` wraps the model (load once, detect, draw); `worker` is the queue
loop with heartbeats and task-token reporting; `__main__` runs it as a process.
"""
