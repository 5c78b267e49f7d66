"""Normalization and sentence splitting stay linear in the input: repeated hostile fragments cannot stall a worker."""
import time

from hypothesis import HealthCheck, example, given, settings, strategies as st

from jobcore.text import normalize, split_sentences

LENGTH = 20_000                  # MAX_TEXT_CHARS' default
PER_CHAR_S = 100e-6              # 2 s for 20,000 characters; the quadratic patterns took 16-19 s (the audit)
FRAGMENT = st.text(alphabet="1a.-,@/:%$!? '\"\nwe", min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragment=FRAGMENT, tail=st.sampled_from(["", "x", "@", "%", " ."]))
@example(fragment="11-", tail="")                 # the audit's 19 s input
@example(fragment=".", tail="x")                  # the audit's 16 s input
@example(fragment="1", tail="")
@example(fragment="111,", tail="")
@example(fragment="a-", tail="")
@example(fragment="@\n", tail="")                 # 10,000 short lines: 3.3 s before the line-end check looked
@example(fragment="1\n", tail="")                 # at the last line only
def test_normalizing_a_repeated_fragment_takes_time_linear_in_its_length(fragment, tail):
    text = (fragment * (LENGTH // len(fragment) + 1))[:LENGTH - len(tail)] + tail
    t0 = time.thread_time()         # this thread's CPU only: other tests' leftover threads cannot count here
    spoken = normalize(text)
    split_sentences(spoken)
    split_sentences(text)
    assert time.thread_time() - t0 < PER_CHAR_S * len(text)


def test_a_run_of_dots_before_a_word_still_speaks_the_word():
    assert normalize("." * 19_999 + "x") .endswith("x")
