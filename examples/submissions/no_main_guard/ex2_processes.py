"""Mistake: no main guard; fine under fork, broken wherever children re-import the script."""

import multiprocessing
import time


def nap(seconds):
    time.sleep(seconds)


first = multiprocessing.Process(target=nap, args=(1,))
second = multiprocessing.Process(target=nap, args=(1,))
first.start()
second.start()
first.join()
second.join()
