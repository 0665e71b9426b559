"""What a run's graph may become: the mutation rules, the promise keeper, regions and the projection."""
