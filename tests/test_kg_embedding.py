"""PyKEEN for real on a small KG: widths, finite vectors, Hits@10, held-out sample, and the
benchmark's cache of it (benchmarks.kg_embedding)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.kg_embedding import cached_embedding
from idkg import embedding
from idkg.embedding import EmbeddingError, embed_kg, holdout_indices
from idkg.embedding_spec import EmbeddingSpec
from idkg.kg import KnowledgeGraph, kg_from_movies
from idkg.kg_inputs import genre_embeddings, movie_kg_inputs
from mmimdb2.genres import GENRES
from mmimdb2.schema import Movie, Person

FAST = dict(epochs=2, batch_size=256, eval_sample=20, eval_batch_size=32, progress=False, device="cpu")


def small_movies(n: int = 60, seed: int = 0) -> list[Movie]:
    """People who recur across movies, each with a favourite genre."""
    rng = np.random.default_rng(seed)
    fav = rng.integers(0, 6, size=40)
    movies = []
    for i in range(n):
        g = int(rng.integers(0, 6))
        pool = np.flatnonzero(fav == g)
        people = rng.choice(pool, size=min(3, len(pool)), replace=False) if len(pool) else rng.choice(40, 3)
        movies.append(
            Movie(
                f"tt{1000000 + i}",
                raw_genres=(GENRES[g],),
                directors=(Person(f"P{people[0]}", f"nm{people[0]:07d}"),),
                cast=tuple(Person(f"P{p}", f"nm{p:07d}") for p in people[1:]),
            )
        )
    return movies


@pytest.fixture(scope="module")
def small_kg() -> KnowledgeGraph:
    return kg_from_movies(small_movies())


@pytest.mark.parametrize("model, dim", [("RotatE", 8), ("TransH", 7)])
def test_pykeen_trains_real_vectors_of_width_dim(small_kg, tmp_path, model, dim):
    emb = embed_kg(small_kg, model=model, dim=dim, **FAST)
    assert emb.model == model and not emb.from_cache and emb.cache_path is None
    assert list(tmp_path.iterdir()) == []  # the method library writes no cache
    # RotatE is complex: dim // 2 complex dims, real and imaginary parts concatenated -> width dim
    assert emb.vectors.shape == (small_kg.num_entities, dim) and emb.vectors.dtype == np.float32
    assert np.isfinite(emb.vectors).all() and np.abs(emb.vectors).sum() > 0
    assert emb.eval_triples == 20 and 0.0 <= emb.hits_at_10 <= 1.0
    assert len(emb.losses) == 2 and all(np.isfinite(emb.losses))
    assert emb.entity_to_id == small_kg.entity_to_id and emb.kg_sha256 == small_kg.sha256
    assert emb.seconds_per_epoch == pytest.approx(emb.train_seconds / 2)
    # the vectors plug straight into the per-movie inputs
    fk = movie_kg_inputs(small_movies()[:5], small_kg, emb)
    assert fk.kg.shape == (5, dim) and genre_embeddings(small_kg, emb).shape == (23, dim)


@pytest.mark.parametrize(
    "model, dim_counts, width",
    [("RotatE", "real", 6), ("RotatE", "model", 12), ("ComplEx", "model", 12), ("TransH", "model", 6), ("TransH", "real", 6)],
)
def test_dim_counts_says_what_dim_counts_and_so_how_wide_fk_is(small_kg, model, dim_counts, width):
    """real: dim is F^K's width; model: PyKEEN's embedding_dim (complex numbers for a complex model)."""
    emb = embed_kg(small_kg, model=model, dim=6, dim_counts=dim_counts, **(FAST | {"epochs": 1, "eval_sample": 0}))
    assert emb.dim == width and emb.vectors.shape == (small_kg.num_entities, width)
    assert movie_kg_inputs(small_movies()[:5], small_kg, emb).kg.shape == (5, width)


def test_rotate_vectors_are_real_then_imaginary_parts(small_kg, tmp_path, monkeypatch):
    captured = {}
    real_vectors = embedding._real_vectors

    def spy(rep):
        captured["rep"] = rep.detach().clone()
        return real_vectors(rep)

    monkeypatch.setattr(embedding, "_real_vectors", spy)
    emb = embed_kg(small_kg, model="RotatE", dim=6, **FAST)
    z = captured["rep"].numpy()
    assert np.iscomplexobj(z) and z.shape == (small_kg.num_entities, 3)
    np.testing.assert_allclose(emb.vectors, np.concatenate([z.real, z.imag], axis=1))


def test_second_call_is_a_cache_hit_without_training(small_kg, tmp_path, monkeypatch):
    first = cached_embedding(small_kg, model="RotatE", dim=4, cache_dir=tmp_path, **FAST)
    files = sorted(p.suffix for p in (tmp_path / "kg-embeddings").iterdir())
    assert files == [".json", ".npz"] and not first.from_cache and first.cache_path.is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the cache should have been hit")

    monkeypatch.setattr(embedding, "_train", no_training)
    second = cached_embedding(small_kg, model="rotate", dim=4, cache_dir=tmp_path, **FAST)  # PyKEEN's name lookup
    assert second.from_cache
    np.testing.assert_array_equal(second.vectors, first.vectors)
    assert second.hits_at_10 == first.hits_at_10 and second.config == first.config
    assert second.entity_to_id == first.entity_to_id and second.losses == first.losses
    assert second.gradients == first.gradients == {"sparse": True, "optimizer": "SparseAdam", "dense_because": None}
    # the device and the evaluation batch say how a run goes, not what it computes: still a hit
    assert cached_embedding(small_kg, model="RotatE", dim=4, cache_dir=tmp_path, **(FAST | {"eval_batch_size": 8})).from_cache
    # another seed, another setting, another default or another KG is another key: it must train
    for change in ({"seed": 1}, {"num_negs_per_pos": 2}, {"sparse": False}, {"model_kwargs": {"scoring_fct_norm": 2}}):
        with pytest.raises(AssertionError, match="trained"):
            cached_embedding(small_kg, model="RotatE", dim=4, cache_dir=tmp_path, **(FAST | change))
    # a changed default of the spec (the one place defaults live) is another key
    monkeypatch.setattr(EmbeddingSpec.__init__, "__defaults__", tuple(0.02 if d == 0.01 else d for d in EmbeddingSpec.__init__.__defaults__))
    assert EmbeddingSpec().lr == 0.02
    with pytest.raises(AssertionError, match="trained"):
        cached_embedding(small_kg, model="RotatE", dim=4, cache_dir=tmp_path, **FAST)
    monkeypatch.undo()
    monkeypatch.setattr(embedding, "_train", no_training)
    with pytest.raises(AssertionError, match="trained"):
        cached_embedding(kg_from_movies(small_movies()[:50]), model="RotatE", dim=4, cache_dir=tmp_path, **FAST)
    # a damaged sidecar is not trusted
    side = next((tmp_path / "kg-embeddings").glob("*.json"))
    side.write_text(json.dumps({"kg_sha256": "x"}))
    with pytest.raises(AssertionError, match="trained"):
        cached_embedding(small_kg, model="RotatE", dim=4, cache_dir=tmp_path, **FAST)


def test_an_unknown_setting_fails_like_a_plain_call(small_kg, tmp_path):
    with pytest.raises(TypeError, match="unexpected keyword argument.*epochz"):
        cached_embedding(small_kg, epochz=3, cache_dir=tmp_path)


def test_default_cache_dir_is_under_the_project_cache(small_kg, tmp_path, monkeypatch):
    monkeypatch.setenv("MMIMDB2_CACHE", str(tmp_path / "c"))
    emb = cached_embedding(small_kg, model="TransH", dim=4, **(FAST | {"eval_sample": 0}))
    assert emb.cache_path.parent == tmp_path / "c" / "kg-embeddings"
    assert emb.hits_at_10 is None and emb.eval_triples == 0


def test_bad_arguments_fail_with_one_clear_message(small_kg, tmp_path):
    with pytest.raises(EmbeddingError, match="unknown KG model 'RotateX'.*rotate"):
        embed_kg(small_kg, model="RotateX", **FAST)
    with pytest.raises(EmbeddingError, match="complex-valued: dim .* must be even, got 5"):
        embed_kg(small_kg, model="RotatE", dim=5, **FAST)
    with pytest.raises(EmbeddingError, match="must be positive"):
        embed_kg(small_kg, dim=0, **FAST)
    with pytest.raises(EmbeddingError, match="unknown KG model 'RotateX'"):  # before any cache look-up
        cached_embedding(small_kg, model="RotateX", cache_dir=tmp_path, **FAST)
    assert not (tmp_path / "kg-embeddings").exists()


def test_holdout_keeps_every_entity_and_relation():
    # a star around 0 plus one chain 1-2-3: leaves (degree 1) can never be held out
    mapped = np.array([[0, 0, 1], [0, 0, 2], [0, 0, 3], [1, 1, 2], [2, 1, 3], [0, 1, 4]])
    for seed in range(20):
        held = holdout_indices(mapped, 5, 2, 10, np.random.default_rng(seed))
        rest = np.delete(mapped, held, axis=0)
        assert set(rest[:, [0, 2]].ravel()) == {0, 1, 2, 3, 4}
        assert set(rest[:, 1]) == {0, 1}
        assert 5 not in held  # (0, 1, 4): entity 4 has no other triple
    assert len(holdout_indices(mapped, 5, 2, 0, np.random.default_rng(0))) == 0


@pytest.mark.parametrize("model", ["ComplEx", "TransR", "TransD", "ConvE"])
def test_every_table4_model_trains_to_width_dim(small_kg, tmp_path, model):
    emb = embed_kg(small_kg, model=model, dim=16, **(FAST | {"epochs": 1, "eval_sample": 0}))
    assert emb.model == model and emb.vectors.shape == (small_kg.num_entities, 16) and np.isfinite(emb.vectors).all()


def _drop(side, field: str) -> None:
    meta = json.loads(side.read_text())
    del meta[field]
    side.write_text(json.dumps(meta))


def _truncate_half(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda npz, side: npz.write_bytes(b""), id="zero-byte-npz"),
        pytest.param(lambda npz, side: _truncate_half(npz), id="truncated-npz"),
        pytest.param(lambda npz, side: side.write_text(""), id="zero-byte-sidecar"),
        pytest.param(lambda npz, side: _truncate_half(side), id="truncated-sidecar"),
        pytest.param(lambda npz, side: side.write_text("[1, 2]"), id="sidecar-not-an-object"),
        pytest.param(lambda npz, side: side.write_text(json.dumps({"kg_sha256": "x", "format": 1})), id="sidecar-missing-fields"),
        pytest.param(lambda npz, side: _drop(side, "hits_at_10"), id="sidecar-lacks-a-figure"),
        pytest.param(lambda npz, side: side.unlink(), id="sidecar-missing"),
    ],
)
def test_damaged_cache_entry_is_rebuilt_with_one_line_notice(small_kg, tmp_path, capsys, damage):
    first = cached_embedding(small_kg, model="TransH", dim=4, cache_dir=tmp_path, **(FAST | {"eval_sample": 0, "epochs": 1}))
    npz = first.cache_path
    damage(npz, npz.with_suffix(".json"))
    capsys.readouterr()
    again = cached_embedding(small_kg, model="TransH", dim=4, cache_dir=tmp_path, **(FAST | {"eval_sample": 0, "epochs": 1}))
    assert not again.from_cache and again.vectors.shape == first.vectors.shape
    notice = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(notice) == 1 and notice[0].startswith(f"kg-embeddings: cache entry {npz.with_suffix('')}")
    assert notice[0].endswith("recomputing")
    # the rebuilt entry is whole again: the next call is a silent cache hit
    third = cached_embedding(small_kg, model="TransH", dim=4, cache_dir=tmp_path, **(FAST | {"eval_sample": 0, "epochs": 1}))
    assert third.from_cache
    np.testing.assert_array_equal(third.vectors, again.vectors)
    assert capsys.readouterr().err == ""


SGD = dict(optimizer="SGD", lr=0.5, batch_size=64, epochs=4, eval_sample=20, eval_batch_size=32, progress=False, device="cpu")


def test_sparse_sgd_follows_the_dense_loss_trajectory(small_kg):
    dense = embed_kg(small_kg, model="RotatE", dim=16, sparse=False, **SGD)
    sparse = embed_kg(small_kg, model="RotatE", dim=16, sparse=True, **SGD)
    assert dense.gradients == {"sparse": False, "optimizer": "SGD", "dense_because": "sparse=False"}
    assert sparse.gradients == {"sparse": True, "optimizer": "SGD", "dense_because": None}
    assert len(sparse.losses) == 4 and sparse.losses[-1] < sparse.losses[0]  # it learns
    np.testing.assert_allclose(sparse.losses, dense.losses, rtol=1e-5)
    np.testing.assert_allclose(sparse.vectors, dense.vectors, atol=1e-4)
    assert sparse.hits_at_10 == dense.hits_at_10


def test_sparse_adam_trains_as_sparseadam_and_ranks_like_adam(small_kg):
    run = dict(model="RotatE", dim=16, optimizer="Adam", lr=0.02, batch_size=64, epochs=15, eval_sample=40, progress=False, device="cpu")
    dense = embed_kg(small_kg, sparse=False, **run)
    sparse = embed_kg(small_kg, sparse=True, **run)
    assert dense.gradients["optimizer"] == "Adam" and sparse.gradients["optimizer"] == "SparseAdam"
    assert sparse.losses[-1] < 0.8 * sparse.losses[0] and dense.losses[-1] < 0.8 * dense.losses[0]
    # lazy moments differ from Adam's, so the runs are not identical; their ranking quality is close
    assert abs(sparse.hits_at_10 - dense.hits_at_10) <= 0.15
    assert sparse.hits_at_10 > 0.2  # well above chance (10 of 123 entities: ~0.08)


def test_sparse_plan_gives_sparse_entity_gradients(small_kg):
    import torch
    from pykeen.models import model_resolver
    from pykeen.triples import TriplesFactory

    tf = TriplesFactory(mapped_triples=torch.tensor(small_kg.mapped), entity_to_id=small_kg.entity_to_id, relation_to_id=small_kg.relation_to_id)
    model = model_resolver.make("RotatE", triples_factory=tf, embedding_dim=4, random_seed=0)
    assert embedding.sparse_plan(model, "adam", True) == ("SparseAdam", None)
    model.score_hrt(tf.mapped_triples[:8]).sum().backward()
    entity_table = model.entity_representations[0]._embeddings.weight
    assert entity_table.grad.is_sparse and len(entity_table.grad.coalesce().indices()[0]) <= 16  # the batch's rows only


@pytest.mark.parametrize(
    "model, optimizer, why",
    [
        ("ConvE", "Adam", "ConvE has dense parameters (interaction.hr2d"),
        ("TransH", "SGD", "TransH regularizes whole tables every step"),
        ("RotatE", "Adamax", "Adamax takes no sparse gradients"),
    ],
)
def test_what_cannot_be_sparse_trains_dense_and_says_why(small_kg, model, optimizer, why):
    emb = embed_kg(small_kg, model=model, dim=16, optimizer=optimizer, sparse=True, **(FAST | {"epochs": 1, "eval_sample": 0}))
    assert emb.gradients["sparse"] is False and emb.gradients["optimizer"] == optimizer
    assert emb.gradients["dense_because"].startswith(why) and np.isfinite(emb.vectors).all()


def test_bad_sparse_settings_fail_with_one_line(small_kg):
    with pytest.raises(EmbeddingError, match="'sparse' must be a bool. Got 'yes'"):
        EmbeddingSpec(sparse="yes")
    with pytest.raises(EmbeddingError, match="unknown KG embedding optimizer 'Adamm'.*sparseadam"):
        embed_kg(small_kg, optimizer="Adamm", **FAST)


def test_hits_at_10_in_bounded_slices_equals_the_unbounded_check(small_kg, monkeypatch):
    whole = embed_kg(small_kg, model="RotatE", dim=16, **(FAST | {"eval_sample": 40}))
    monkeypatch.setattr(embedding, "EVAL_MEMORY_BYTES", 1)  # one triple per batch, one entity per slice
    chunks = []
    real = embedding.eval_chunks
    monkeypatch.setattr(embedding, "eval_chunks", lambda *a, **k: chunks.append(real(*a, budget=embedding.EVAL_MEMORY_BYTES)) or chunks[-1])
    sliced = embed_kg(small_kg, model="RotatE", dim=16, **(FAST | {"eval_sample": 40}))
    assert chunks == [(1, 1)]
    assert sliced.hits_at_10 == whole.hits_at_10 and sliced.eval_triples == 40


@pytest.mark.parametrize("entities", [100, 39_740, 320_000, 5_000_000])
def test_eval_chunks_stay_inside_the_memory_bound(entities):
    budget = embedding.EVAL_MEMORY_BYTES
    batch, slice_size = embedding.eval_chunks(entities, 200, 64)
    assert 1 <= batch <= 64 and 1 <= slice_size <= entities
    assert 16 * batch * entities <= budget or batch == 1  # filter and score rows
    assert 16 * batch * slice_size * 200 <= budget  # one slice's pairwise terms


def test_batches_per_epoch_is_openkes_nbatches():
    """OpenKE's loader splits an epoch into ``nbatches`` batches; ``batches_per_epoch`` does the same."""
    from idkg.embedding import epoch_batch_size

    assert epoch_batch_size({"batch_size": 1024, "batches_per_epoch": 0}, 364_034) == 1024
    assert epoch_batch_size({"batch_size": 1024, "batches_per_epoch": 100}, 364_034) == 3641  # ceil(364,034 / 100)
    assert epoch_batch_size({"batch_size": 1024, "batches_per_epoch": 100}, 18_797) == 188
    assert epoch_batch_size({"batch_size": 1024, "batches_per_epoch": 100}, 50) == 1
    with pytest.raises(EmbeddingError, match="batches_per_epoch >= 0"):
        EmbeddingSpec(batches_per_epoch=-1)


def test_an_epoch_of_batches_per_epoch_takes_that_many_steps(small_kg, monkeypatch):
    """The training loop is handed the batch size that makes ``batches_per_epoch`` steps."""
    from pykeen.training import SLCWATrainingLoop

    seen = []
    train = SLCWATrainingLoop.train

    def spy(self, *args, **kwargs):
        seen.append(kwargs["batch_size"])
        return train(self, *args, **kwargs)

    monkeypatch.setattr(SLCWATrainingLoop, "train", spy)
    emb = embed_kg(small_kg, model="RotatE", dim=8, epochs=1, batches_per_epoch=4, eval_sample=0, progress=False)
    assert seen == [-(-small_kg.num_triples // 4)] and emb.config["batches_per_epoch"] == 4


def test_fast_rotate_interaction_scores_as_pykeens(small_kg):
    """The real-view norm gives PyKEEN's RotatE scores, in both rotation branches and sliced."""
    import torch
    from pykeen.models import model_resolver
    from pykeen.nn.modules import RotatEInteraction
    from pykeen.triples import TriplesFactory

    from idkg.interactions import use_fast_interaction

    g = torch.Generator().manual_seed(0)
    h, t = torch.randn(5, 1, 16, dtype=torch.cfloat, generator=g), torch.randn(1, 7, 16, dtype=torch.cfloat, generator=g)
    r = torch.randn(5, 1, 16, dtype=torch.cfloat, generator=g)
    r = r / r.abs()
    tf = TriplesFactory(mapped_triples=torch.as_tensor(small_kg.mapped, dtype=torch.long),
                        entity_to_id=small_kg.entity_to_id, relation_to_id=small_kg.relation_to_id)  # fmt: skip
    model = model_resolver.make("RotatE", triples_factory=tf, embedding_dim=8)
    assert type(model.interaction) is RotatEInteraction
    assert use_fast_interaction(model) == "RealNormRotatEInteraction"
    ref = RotatEInteraction()
    same = torch.randn(5, 1, 16, dtype=torch.cfloat, generator=g)
    for args in ((h, r, t), (h, r, same), (h[:, :, None], r[:, :, None], t[None])):  # head rotated; tail rotated; 4-d
        torch.testing.assert_close(model.interaction(*args), ref(*args), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.interaction.score(h, r, t, slice_size=3, slice_dim=1), ref.score(h, r, t), rtol=1e-5, atol=1e-5)
    assert use_fast_interaction(type("M", (), {"interaction": torch.nn.Identity()})()) is None


def test_rotate_trains_the_same_with_the_fast_interaction(small_kg, monkeypatch):
    """Same losses and Hits@10 as PyKEEN's own RotatE interaction (float rounding apart)."""
    fast = embed_kg(small_kg, model="RotatE", dim=16, epochs=3, batch_size=64, progress=False)
    monkeypatch.setattr(embedding, "use_fast_interaction", lambda model: None)
    plain = embed_kg(small_kg, model="RotatE", dim=16, epochs=3, batch_size=64, progress=False)
    np.testing.assert_allclose(fast.losses, plain.losses, rtol=1e-4)
    np.testing.assert_allclose(fast.vectors, plain.vectors, atol=1e-4)
    assert fast.hits_at_10 == plain.hits_at_10 and fast.config["interaction"] == "RealNormRotatEInteraction"


def test_training_hides_the_existing_heap_from_pykeens_collections_and_gives_it_back(small_kg, monkeypatch):
    """PyKEEN collects garbage after every epoch; objects made before training are frozen for the
    run (so those collections stay cheap beside a large dataset) and unfrozen after it."""
    import gc

    from pykeen.training import SLCWATrainingLoop

    frozen_during = []
    train = SLCWATrainingLoop.train

    def spy(self, *args, **kwargs):
        frozen_during.append(gc.get_freeze_count())
        return train(self, *args, **kwargs)

    monkeypatch.setattr(SLCWATrainingLoop, "train", spy)
    before = gc.get_freeze_count()
    embed_kg(small_kg, model="RotatE", dim=8, epochs=1, eval_sample=0, progress=False)
    assert frozen_during[0] > before and gc.get_freeze_count() == before


@pytest.mark.parametrize("maximize", [False, True])
def test_indexed_sparse_adam_equals_torchs_sparse_adam_bit_for_bit(maximize):
    """Repeated and absent rows, uncoalesced gradients, a 3-d table and a step with no rows."""
    import torch

    from idkg.sparse_adam import IndexedSparseAdam

    g = torch.Generator().manual_seed(0)
    start = [torch.randn(50, 6, generator=g), torch.randn(20, 3, 2, generator=g)]
    ours = [torch.nn.Parameter(p.clone()) for p in start]
    theirs = [torch.nn.Parameter(p.clone()) for p in start]
    opt_ours = IndexedSparseAdam(ours, lr=0.05, betas=(0.8, 0.99), eps=1e-6, maximize=maximize)
    opt_theirs = torch.optim.SparseAdam(theirs, lr=0.05, betas=(0.8, 0.99), eps=1e-6, maximize=maximize)
    for step in range(6):
        for i, p in enumerate(start):
            n = 0 if step == 3 else 40
            rows = torch.randint(0, p.shape[0], (1, n), generator=g)  # duplicates: coalesced before the update
            values = torch.randn(n, *p.shape[1:], generator=g)
            ours[i].grad = torch.sparse_coo_tensor(rows, values, p.shape, check_invariants=True)
            theirs[i].grad = torch.sparse_coo_tensor(rows, values, p.shape, check_invariants=True)
        opt_ours.step()
        opt_theirs.step()
        for a, b in zip(ours, theirs):
            assert torch.equal(a, b)
            for key in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(torch.as_tensor(opt_ours.state[a][key]), torch.as_tensor(opt_theirs.state[b][key]))
    assert not torch.equal(ours[0], start[0])  # it moved
    ours[0].grad = torch.randn(50, 6)
    with pytest.raises(RuntimeError, match="does not support dense gradients"):
        opt_ours.step()


def test_kg_embedding_with_indexed_sparse_adam_equals_torchs_sparse_adam(small_kg, monkeypatch):
    """The KG embedding trains with IndexedSparseAdam, and gives torch's SparseAdam's vectors exactly."""
    import torch
    from pykeen.training import SLCWATrainingLoop

    from idkg.sparse_adam import IndexedSparseAdam

    used = []
    init = SLCWATrainingLoop.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        used.append(type(self.optimizer))

    monkeypatch.setattr(SLCWATrainingLoop, "__init__", spy)
    run = dict(model="RotatE", dim=16, lr=0.02, batch_size=64, epochs=3, eval_sample=20, progress=False, device="cpu")
    ours = embed_kg(small_kg, **run)
    monkeypatch.setattr("idkg.sparse_adam.IndexedSparseAdam", torch.optim.SparseAdam)
    theirs = embed_kg(small_kg, **run)
    assert used == [IndexedSparseAdam, torch.optim.SparseAdam] and ours.gradients["optimizer"] == "SparseAdam"
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    assert ours.losses == theirs.losses and ours.hits_at_10 == theirs.hits_at_10


def test_hits_at_10_check_runs_with_large_blocks_mapped(small_kg, monkeypatch):
    """The check's scoring slices are mapped, not taken from glibc's heap (which they fragmented):
    mallopt sets the threshold before the check and sets it back to 32 MiB after."""
    import ctypes

    from pykeen.evaluation import RankBasedEvaluator

    events = []

    class FakeLibc:
        def mallopt(self, param, value):
            events.append(("mallopt", param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    evaluate = RankBasedEvaluator.evaluate
    monkeypatch.setattr(RankBasedEvaluator, "evaluate", lambda self, *a, **k: (events.append("evaluate"), evaluate(self, *a, **k))[1])
    emb = embed_kg(small_kg, model="RotatE", dim=8, **FAST)
    assert events == [("mallopt", -3, 4 * 2**20), "evaluate", ("mallopt", -3, 32 * 2**20)] and emb.hits_at_10 is not None
