"""Fit the population Markov baseline's tables on a training file, as the true or the phone view.

``eval next-event --markov-population`` then scores the Markov baseline with tables from users it
is not evaluated on, on the same view as the model. Usage::

    python scripts/fit_markov_tables.py runs/pop_train1000.h5 runs/markov_phone.json.gz --view phone
"""

import argparse
from pathlib import Path

from momentsense.trainer.nextevent.data import user_sequences
from momentsense.trainer.nextevent.evaluate import fit_population_markov
from momentsense.trainer.nextevent.workflow import save_population
from momentsense.trainer.population.phone_view import load_view


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="simulated training population (another seed than the evaluation file)")
    ap.add_argument("out", help="tables to write (.json.gz)")
    ap.add_argument("--view", choices=("phone", "truth"), default="phone")
    args = ap.parse_args()
    tl = load_view(args.data, args.view)
    save_population(fit_population_markov(user_sequences(tl)), Path(args.out))
    print(f"wrote {args.out}: Markov tables of {len(tl.users)} users ({args.view} view of {args.data})")


if __name__ == "__main__":
    main()
