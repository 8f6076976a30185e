"""fer_edge.train"""
